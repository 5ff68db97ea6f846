package pii

import (
	"bytes"
	"testing"
)

func TestSealOpenAndContext(t *testing.T) {
	t.Parallel()
	k := TestKeys()
	sealed := k.Seal("person", []byte("Zelda Quintrell"))
	if bytes.Contains(sealed, []byte("Zelda")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := k.Open("person", sealed)
	if err != nil || string(got) != "Zelda Quintrell" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open("decision", sealed); err == nil {
		t.Fatal("opened a value sealed for another context")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k.Open("person", sealed); err == nil {
		t.Fatal("opened a tampered value")
	}
}

func TestHashFieldsAreFramed(t *testing.T) {
	t.Parallel()
	k := TestKeys()
	if bytes.Equal(k.Hash("p", "ab", "c"), k.Hash("p", "a", "bc")) {
		t.Fatal("field boundaries do not change the hash")
	}
	if Normalize("  ÉLISE  O'Brien ") != Normalize("élise o brien") {
		t.Fatal("normalisation differs for the same name")
	}
}
