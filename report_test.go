package main

import (
	"encoding/json"
	"testing"
	"time"
)

// TestNumericDate checks which claim values the report shows as dates:
// those RFC 3339 and JSON can write, years 0 to 9999.
func TestNumericDate(t *testing.T) {
	tests := []struct {
		n    string
		want string // RFC 3339, or "" for none
	}{
		{"1700000000", "2023-11-14T22:13:20Z"},
		{"1700000000.9", "2023-11-14T22:13:20Z"},
		{"0", "1970-01-01T00:00:00Z"},
		{"253402300799", "9999-12-31T23:59:59Z"},
		{"253402300800", ""},
		{"1700000000000", ""}, // milliseconds
		{"-62167219200", "0000-01-01T00:00:00Z"},
		{"-62167219201", ""},
		{"1e300", ""},
	}
	for _, tt := range tests {
		n := json.Number(tt.n)
		got := numericDate(&n)
		if got == nil {
			if tt.want != "" {
				t.Errorf("numericDate(%s) = nil, want %s", tt.n, tt.want)
			}
			continue
		}
		if s := got.Format(time.RFC3339); s != tt.want {
			t.Errorf("numericDate(%s) = %s, want %q", tt.n, s, tt.want)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("numericDate(%s) does not marshal: %v", tt.n, err)
		}
	}
}
