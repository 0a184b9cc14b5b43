package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// The upstream server's commands: the first byte a connection sends.
const (
	cmdEcho = 'E' // echo every byte back
	cmdSink = 'S' // an 8-byte big-endian count n follows; read n bytes, answer 'K'
	cmdGen  = 'G' // an 8-byte big-endian count n follows; send n bytes
)

// upstream is the host every proxy (and the direct connection) leads to.
type upstream struct {
	ln       net.Listener
	active   atomic.Int64 // connections open now
	accepted atomic.Int64
	wg       sync.WaitGroup
}

func startUpstream() (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{ln: ln}
	u.wg.Add(1)
	go u.serve()
	return u, nil
}

func (u *upstream) addr() string { return u.ln.Addr().String() }

func (u *upstream) close() {
	_ = u.ln.Close()
	u.wg.Wait()
}

func (u *upstream) serve() {
	defer u.wg.Done()
	for {
		c, err := u.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		u.accepted.Add(1)
		u.active.Add(1)
		go func() {
			defer u.active.Add(-1)
			defer c.Close()
			_ = handle(c)
		}()
	}
}

func handle(c net.Conn) error {
	var cmd [1]byte
	if _, err := io.ReadFull(c, cmd[:]); err != nil {
		return err
	}
	switch cmd[0] {
	case cmdEcho:
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return werr
				}
			}
			if err != nil {
				return err
			}
		}
	case cmdSink, cmdGen:
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return err
		}
		n := int64(binary.BigEndian.Uint64(hdr[:]))
		buf := make([]byte, bulkChunk)
		if cmd[0] == cmdSink {
			if err := readN(c, buf, n); err != nil {
				return err
			}
			if _, err := c.Write([]byte{'K'}); err != nil {
				return err
			}
		} else if err := writeN(c, buf, n); err != nil {
			return err
		}
		// The client closes first.
		_, err := io.Copy(io.Discard, c)
		return err
	default:
		return errors.New("unknown command")
	}
}

// bulkChunk is the size of each read and write of the bulk transfers.
const bulkChunk = 256 << 10

// writeN writes n bytes to w, buf at a time.
func writeN(w io.Writer, buf []byte, n int64) error {
	for n > 0 {
		b := buf
		if int64(len(b)) > n {
			b = b[:n]
		}
		k, err := w.Write(b)
		n -= int64(k)
		if err != nil {
			return err
		}
	}
	return nil
}

// readN reads and drops n bytes from r, buf at a time.
func readN(r io.Reader, buf []byte, n int64) error {
	for n > 0 {
		b := buf
		if int64(len(b)) > n {
			b = b[:n]
		}
		k, err := r.Read(b)
		n -= int64(k)
		switch {
		case err == io.EOF && n == 0:
			return nil
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		case err != nil:
			return err
		}
	}
	return nil
}
