package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// profileOptions asks for a perf profile of one proxy process during one
// bulk transfer instead of the measurements.
type profileOptions struct {
	out       string // perf.data file; empty: no profile
	target    string // a target name with a process of its own
	direction string // "up" (application -> upstream) or "down"
	flags     string // perf record flags, space-separated
}

// profileBulk starts fresh servers, attaches `perf record` (events disabled)
// to the target's process, enables it through perf's control FIFO right
// before one bulk transfer of o.bulkBytes, and stops it right after, so that
// the profile holds the transfer and nothing else.
func profileBulk(ctx context.Context, o options, up *upstream) error {
	p := o.profile
	var cmd byte
	switch p.direction {
	case "up":
		cmd = cmdSink
	case "down":
		cmd = cmdGen
	default:
		return fmt.Errorf("--perf_direction %q: want up or down", p.direction)
	}
	perfPath, err := exec.LookPath("perf")
	if err != nil {
		return fmt.Errorf("--perf_record needs perf on the PATH: %w", err)
	}
	out, err := filepath.Abs(p.out)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "proxybench-perf")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctlPath, ackPath := filepath.Join(dir, "ctl"), filepath.Join(dir, "ack")
	for _, f := range []string{ctlPath, ackPath} {
		if err := syscall.Mkfifo(f, 0o600); err != nil {
			return fmt.Errorf("mkfifo %s: %w", f, err)
		}
	}

	return withServers(ctx, o, up, 0, "perf", func(ts []target) error {
		var t target
		for _, c := range ts {
			if c.name == p.target {
				t = c
			}
		}
		if t.pid == 0 {
			return fmt.Errorf("--perf_target %q: want a proxy (%s, %s, %s or %s)",
				p.target, nameToxiproxy, nameTcpemu, nameTcpemuBig, nameJumbo)
		}
		args := append(strings.Fields(p.flags), "-D", "-1",
			"--control", "fifo:"+ctlPath+","+ackPath,
			"-p", strconv.Itoa(t.pid), "-o", out)
		rec := exec.Command(perfPath, append([]string{"record"}, args...)...)
		rec.Stdout, rec.Stderr = os.Stderr, os.Stderr
		log.Printf("perf %s", strings.Join(append([]string{"record"}, args...), " "))
		if err := rec.Start(); err != nil {
			return err
		}
		waited := false
		defer func() {
			if !waited {
				_ = rec.Process.Kill()
				_ = rec.Wait()
			}
		}()
		// perf opens both FIFOs once it is attached. Opening the ack FIFO
		// for reading waits for that; a timer unblocks it if perf dies.
		ack, err := openFIFO(ackPath, os.O_RDONLY, 60*time.Second)
		if err != nil {
			return fmt.Errorf("perf's ack FIFO: %w", err)
		}
		defer ack.Close()
		ctl, err := openFIFO(ctlPath, os.O_WRONLY, 60*time.Second)
		if err != nil {
			return fmt.Errorf("perf's control FIFO: %w", err)
		}
		defer ctl.Close()
		acks := bufio.NewReader(ack)
		control := func(command string) error {
			if _, err := io.WriteString(ctl, command+"\n"); err != nil {
				return err
			}
			line, err := acks.ReadString('\n')
			if err != nil {
				return fmt.Errorf("perf: no ack for %q: %w", command, err)
			}
			// perf writes "ack\n" with its C string's NUL.
			if strings.Trim(line, "\x00 \n") != "ack" {
				return fmt.Errorf("perf: %q answered %q", command, line)
			}
			return nil
		}

		if err := control("enable"); err != nil {
			return err
		}
		res, err := bulk(t, cmd, o.bulkBytes)
		if cerr := control("disable"); cerr != nil && err == nil {
			err = cerr
		}
		_ = rec.Process.Signal(os.Interrupt)
		werr := rec.Wait()
		waited = true
		if err != nil {
			return err
		}
		// perf record ends by raising the SIGINT it caught, once the file
		// is written.
		var exit *exec.ExitError
		if errors.As(werr, &exit) {
			if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
				werr = nil
			}
		}
		if werr != nil {
			return fmt.Errorf("perf record: %w", werr)
		}
		gib := float64(o.bulkBytes) / (1 << 30)
		fmt.Printf("%s %s: %d bytes, %.1f MB/s, proxy CPU %.2f s/GiB; profile in %s\n",
			t.name, p.direction, o.bulkBytes, res.bytesPerSec/1e6, res.proxyCPU/gib, out)
		return nil
	})
}

// openFIFO opens a FIFO, which blocks until the other end is opened, giving
// up after timeout.
func openFIFO(path string, flag int, timeout time.Duration) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := os.OpenFile(path, flag, 0)
		ch <- result{f, err}
	}()
	select {
	case r := <-ch:
		return r.f, r.err
	case <-time.After(timeout):
		// Open the other end ourselves to release the goroutine.
		other := os.O_WRONLY
		if flag == os.O_WRONLY {
			other = os.O_RDONLY
		}
		if f, err := os.OpenFile(path, other|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		if r := <-ch; r.f != nil {
			r.f.Close()
		}
		return nil, fmt.Errorf("%s not opened by perf within %s", path, timeout)
	}
}
