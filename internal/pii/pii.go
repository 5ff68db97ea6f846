// Package pii seals personal data at rest and derives keyed hashes of it.
//
// One 32-byte master key (from configuration) yields two independent keys by
// HKDF: one for AES-256-GCM sealing, one for HMAC-SHA-256 lookup hashes. A
// lookup hash lets the service find a person again without storing their
// details in the clear; without the key it cannot be reversed by guessing
// names and birth dates.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// KeySize is the length of a master key in bytes.
const KeySize = 32

// Keys seals and hashes personal data.
type Keys struct {
	aead cipher.AEAD
	mac  []byte
}

// ErrOpen means a sealed value could not be opened: wrong key or tampering.
var ErrOpen = errors.New("pii: cannot open sealed value")

// NewKeys derives the sealing and hashing keys from master.
func NewKeys(master []byte) (*Keys, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("pii: master key must be %d bytes, got %d", KeySize, len(master))
	}
	sealKey, err := hkdf.Key(sha256.New, master, nil, "vaxbook seal v1", 32)
	if err != nil {
		return nil, err
	}
	macKey, err := hkdf.Key(sha256.New, master, nil, "vaxbook lookup hash v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{aead: aead, mac: macKey}, nil
}

// Seal encrypts plaintext; context binds the result to its purpose (for
// example "person"), so a value sealed for one column cannot be replayed
// into another.
func (k *Keys) Seal(context string, plaintext []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, plaintext, []byte(context))
}

// Open decrypts a value made by Seal with the same context.
func (k *Keys) Open(context string, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, ErrOpen
	}
	out, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// Hash returns the keyed hash of the given fields for one purpose. Fields
// are length-prefixed so that ("ab","c") and ("a","bc") differ.
func (k *Keys) Hash(purpose string, fields ...string) []byte {
	m := hmac.New(sha256.New, k.mac)
	writeField(m, purpose)
	for _, f := range fields {
		writeField(m, f)
	}
	return m.Sum(nil)
}

func writeField(w interface{ Write([]byte) (int, error) }, s string) {
	var n [4]byte
	l := len(s)
	n[0], n[1], n[2], n[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
	_, _ = w.Write(n[:])
	_, _ = w.Write([]byte(s))
}

// Normalize folds a name-like field so that case, accents written two ways
// and extra white space do not make two people of one.
func Normalize(s string) string {
	s = norm.NFKC.String(s)
	s = strings.ToLower(s)
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '-' || r == '\''
	}), " ")
}

// LoadOrCreateKeyFile reads a base64 master key from path, creating the file
// with a new random key (mode 0600) if it does not exist. created reports
// whether a new key was made.
func LoadOrCreateKeyFile(path string) (master []byte, created bool, err error) {
	data, err := os.ReadFile(path)
	if err == nil {
		master, err = ParseKey(string(data))
		return master, false, err
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read key file: %w", err)
	}
	master = make([]byte, KeySize)
	_, _ = rand.Read(master)
	enc := base64.StdEncoding.EncodeToString(master) + "\n"
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(enc); err != nil {
		return nil, false, fmt.Errorf("write key file: %w", err)
	}
	return master, true, nil
}

// ParseKey decodes a base64 master key.
func ParseKey(s string) ([]byte, error) {
	master, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(master) != KeySize {
		return nil, fmt.Errorf("pii: key must be %d bytes of base64", KeySize)
	}
	return master, nil
}

// TestKeys returns keys from a fixed master, for tests only.
func TestKeys() *Keys {
	k, err := NewKeys([]byte("vaxbook test master key 32 bytes"))
	if err != nil {
		panic(err)
	}
	return k
}
