package commands

import "testing"

func TestNeedsPayConfirm(t *testing.T) {
	cases := []struct {
		amount, wallet int64
		want           bool
	}{
		{LargePayment - 1, 1_000_000, false},
		{LargePayment, 1_000_000, true},
		{confirmFloor - 1, confirmFloor, false}, // all of a small wallet
		{confirmFloor, confirmFloor, true},      // all of it, from the floor
		{2_000, 4_000, false},                   // exactly half
		{2_001, 4_000, true},                    // more than half
		{5_000, 100_000, false},
	}
	for _, tc := range cases {
		if got := needsPayConfirm(tc.amount, tc.wallet); got != tc.want {
			t.Errorf("needsPayConfirm(%d, %d) = %v, want %v", tc.amount, tc.wallet, got, tc.want)
		}
	}
}
