package stats

import (
	"fmt"
	"math"
	"testing"
)

func TestFormatTotalCount(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "              0"},
		{7, "              7"},
		{999, "            999"},
		{1000, "          1,000"},
		{123456, "        123,456"},
		{1234567, "      1,234,567"},
		{-1234, "         -1,234"},
		{999_999_999_999, "999,999,999,999"},
		{1_000_000_000_000, "1,000,000,000,000"},
		{math.MaxInt64, "9,223,372,036,854,775,807"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			if got := FormatTotalCount(tt.n); got != tt.want {
				t.Errorf("FormatTotalCount(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

func TestFormatTotalCountWidth(t *testing.T) {
	for n := int64(1); n < 1e12; n = n*10 + 7 {
		if got := FormatTotalCount(n); len(got) != 15 {
			t.Fatalf("FormatTotalCount(%d) = %q: %d characters, want 15", n, got, len(got))
		}
	}
}

func TestFormatNullCount(t *testing.T) {
	if got, want := FormatNullCount(), "           null"; got != want {
		t.Errorf("FormatNullCount() = %q, want %q", got, want)
	}
}
