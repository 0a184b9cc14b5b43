// Package tcpemuv1 is the Go code generated from proto/tcpemu/v1/tcpemu.proto:
// the tcpemu.v1 messages and the Emulator gRPC client and server.
//
// Regenerate after editing the proto with `go generate ./gen/...` from the
// module root; generate_test.go fails when the committed code is stale.
package tcpemuv1

//go:generate bash ../../../generate.sh
