package ref

import (
	"strings"
	"testing"
)

func TestAppointmentReferences(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		r := Appointment()
		if len(r) != 12 || !strings.HasPrefix(r, "VX-") || r[7] != '-' {
			t.Fatalf("reference %q is not VX-XXXX-XXXX", r)
		}
		for _, c := range r[3:7] + r[8:] {
			if !strings.ContainsRune(Alphabet, c) {
				t.Fatalf("reference %q has %q, outside the alphabet", r, c)
			}
		}
		if seen[r] {
			t.Fatalf("reference %q drawn twice in 2,000", r)
		}
		seen[r] = true
	}
	if strings.ContainsAny(Alphabet, "01OIL") {
		t.Fatal("the alphabet has characters that are easy to confuse")
	}
}

func TestNormalizeReadsWhatPeopleType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"vx 7kq4 m2pd":   "VX-7KQ4-M2PD",
		" VX-7KQ4-M2PD ": "VX-7KQ4-M2PD",
		"vx7kq4m2pd":     "VX-7KQ4-M2PD",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}
