package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Sender delivers rendered messages. An SMS gateway implements it by
// reading Message.Phone and Message.Text. Send may be called again for a
// message that was already delivered (a crash before the send was
// recorded); the message is then byte for byte the same, with the same ID.
// Errors must not carry message bodies or addresses: they are stored with
// the job and shown to operators.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// ErrNoAddress means the person has no address this sender can reach. The
// message is dropped, not retried.
var ErrNoAddress = errors.New("no address for this channel")

// Folder writes each message as a .eml file in a directory, so the
// embedded default shows what would have been sent. A repeated send
// rewrites the same file with the same bytes.
type Folder struct {
	Dir string
}

// FolderBeside returns the default folder for a SQLite database file:
// PATH.mail beside it.
func FolderBeside(dbPath string) *Folder { return &Folder{Dir: dbPath + ".mail"} }

// Send writes m to Dir/<hash of the Message-ID>.eml, atomically.
func (f *Folder) Send(_ context.Context, m *Message) error {
	if m.To == "" {
		return ErrNoAddress
	}
	if err := os.MkdirAll(f.Dir, 0o750); err != nil {
		return fmt.Errorf("mail folder: %w", err)
	}
	sum := sha256.Sum256([]byte(m.ID))
	name := filepath.Join(f.Dir, hex.EncodeToString(sum[:12])+".eml")
	tmp, err := os.CreateTemp(f.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("mail folder: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(m.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("mail folder: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail folder: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("mail folder: %w", err)
	}
	return nil
}
