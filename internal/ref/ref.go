// Package ref makes the random references people read and type:
// appointment references, person references and ids. The alphabet leaves
// out characters that are easy to confuse (0/O, 1/I/L).
package ref

import (
	"crypto/rand"
	"strings"
)

// Alphabet is the set of characters references use.
const Alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// Random returns n characters drawn uniformly from Alphabet.
func Random(n int) string {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < n {
		_, _ = rand.Read(buf)
		// 248 = 8 * 31: reject the top of the byte range so every
		// character is equally likely.
		if buf[0] < 248 {
			b.WriteByte(Alphabet[int(buf[0])%len(Alphabet)])
		}
	}
	return b.String()
}

// New returns prefix followed by n random characters.
func New(prefix string, n int) string { return prefix + Random(n) }

// Appointment returns a reference such as "VX-7KQ4-M2PD": 8 characters,
// about 40 bits, read over the phone without ambiguity.
func Appointment() string {
	r := Random(8)
	return "VX-" + r[:4] + "-" + r[4:]
}

// Normalize upper-cases a typed reference and drops spaces, so
// "vx 7kq4 m2pd" finds "VX-7KQ4-M2PD".
func Normalize(s string) string {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	s = strings.ReplaceAll(s, "-", "")
	if len(s) == 10 && strings.HasPrefix(s, "VX") {
		return "VX-" + s[2:6] + "-" + s[6:]
	}
	return s
}
