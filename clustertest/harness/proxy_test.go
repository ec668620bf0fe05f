package harness

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func TestProxySeversAndHeals(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Close() })
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	p := NewProxy(t, echo.Addr().String())
	roundTrip := func() error {
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("hi")); err != nil {
			return err
		}
		b := make([]byte, 2)
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		if string(b) != "hi" {
			return errors.New("echo mismatch")
		}
		return nil
	}
	if err := roundTrip(); err != nil {
		t.Fatalf("before the cut: %v", err)
	}
	// An open connection dies with the cut.
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	p.Sever()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(b); err == nil {
		t.Fatal("an open connection survived the cut")
	}
	if err := roundTrip(); err == nil {
		t.Fatal("a new connection got through the cut")
	}
	p.Heal()
	if err := roundTrip(); err != nil {
		t.Fatalf("after healing: %v", err)
	}
	// A hold answers nothing, but keeps the connection open: what was held
	// arrives on release.
	held, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	p.Hold()
	if err := roundTrip(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a round trip through a hold: %v, want a deadline", err)
	}
	if _, err := held.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	p.Release()
	_ = held.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(held, b); err != nil || b[0] != 'y' {
		t.Fatalf("after the release: %q, %v", b, err)
	}
}
