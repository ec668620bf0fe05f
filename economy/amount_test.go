package economy_test

import (
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/refusal"
)

func TestParseAmount(t *testing.T) {
	cases := []struct {
		in   string
		want economy.Amount
		err  error
	}{
		{"1500", economy.Exact(1500), nil},
		{" 1,500 ", economy.Exact(1500), nil},
		{"1_000", economy.Exact(1000), nil},
		{"1.5k", economy.Exact(1500), nil},
		{"1.5K", economy.Exact(1500), nil},
		{"2m", economy.Exact(2_000_000), nil},
		{"0.25m", economy.Exact(250_000), nil},
		{".5k", economy.Exact(500), nil},
		{"3b", economy.Exact(3_000_000_000), nil},
		{"1t", economy.Exact(1_000_000_000_000), nil},
		{"1.000", economy.Exact(1), nil},
		{"all", economy.Amount{All: true}, nil},
		{"ALL", economy.Amount{All: true}, nil},
		{"half", economy.Amount{Half: true}, nil},
		{"9223372036854775807", economy.Exact(math.MaxInt64), nil},
		{"9223372036854775808", economy.Amount{}, economy.ErrOverflow},
		{"9223372036854775807k", economy.Amount{}, economy.ErrOverflow},
		{"9223372.036854775807t", economy.Exact(math.MaxInt64), nil},
		{"9223372.036854775808t", economy.Amount{}, economy.ErrOverflow},
		{"9223373t", economy.Amount{}, economy.ErrOverflow},
		{"1.0000000000001t", economy.Amount{}, economy.ErrBadAmount},
		{"9223371.9t", economy.Exact(9223371_900_000_000_000), nil},
		{"0", economy.Amount{}, economy.ErrNonPositive},
		{"0k", economy.Amount{}, economy.ErrNonPositive},
		{"-5", economy.Amount{}, economy.ErrBadAmount},
		{"1.2345k", economy.Amount{}, economy.ErrBadAmount},
		{"0.5", economy.Amount{}, economy.ErrBadAmount},
		{"", economy.Amount{}, economy.ErrBadAmount},
		{"k", economy.Amount{}, economy.ErrBadAmount},
		{"1.", economy.Amount{}, economy.ErrBadAmount},
		{"1e6", economy.Amount{}, economy.ErrBadAmount},
		{"0x10", economy.Amount{}, economy.ErrBadAmount},
		{"1.5.5k", economy.Amount{}, economy.ErrBadAmount},
		{"12abc", economy.Amount{}, economy.ErrBadAmount},
		{"１２", economy.Amount{}, economy.ErrBadAmount},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := economy.ParseAmount(c.in)
			if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestAmountResolve(t *testing.T) {
	if got := (economy.Amount{Half: true}).Resolve(101); got != 50 {
		t.Fatalf("half of 101 = %d", got)
	}
	if got := (economy.Amount{All: true}).Resolve(math.MaxInt64); got != math.MaxInt64 {
		t.Fatalf("all = %d", got)
	}
	if got := economy.Exact(7).Resolve(0); got != 7 {
		t.Fatalf("exact = %d", got)
	}
}

// FuzzParseAmount: any input gives a positive amount or a rejection, never
// a panic, and plain numbers round-trip.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1500", "1.5k", "2m", "all", "half", "9223372036854775807", "-1", "0.001t", "1,5k", ".k", "1..k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := economy.ParseAmount(s)
		if err != nil {
			if !errors.As(err, new(*refusal.Error)) {
				t.Fatalf("%q: error %v is not a user-facing rejection", s, err)
			}
			if a != (economy.Amount{}) {
				t.Fatalf("%q: error with a value %+v", s, a)
			}
			return
		}
		if !a.All && !a.Half && a.Value <= 0 {
			t.Fatalf("%q: non-positive amount %+v", s, a)
		}
		if n, perr := strconv.ParseInt(s, 10, 64); perr == nil && n > 0 && a.Value != n {
			t.Fatalf("%q: got %d, want %d", s, a.Value, n)
		}
	})
}
