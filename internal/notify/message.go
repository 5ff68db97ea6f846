package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"
)

// Message is one rendered notification. Rendering is deterministic: the
// same job renders the same bytes on every attempt (the Date comes from
// the job's creation, the MIME boundaries from the Message-ID), so a crash
// between sending and recording the send cannot produce two different
// messages, and a receiver that has seen the Message-ID drops the repeat.
type Message struct {
	// ID is the Message-ID without angle brackets.
	ID      string
	Type    string
	Lang    string
	From    string
	To      string // email address; empty when the person gave only a phone
	Phone   string
	Date    time.Time
	Subject string
	Text    string
	HTML    string
	// Calendar is an iCalendar attachment, or nil.
	Calendar []byte
	// CalendarMethod is the iCalendar METHOD of Calendar (PUBLISH, CANCEL).
	CalendarMethod string
}

// LogValue names the message without its content or address.
func (m *Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("message_id", m.ID), slog.String("type", m.Type))
}

// messageID derives a stable Message-ID from what the message is about.
func messageID(domain string, parts ...string) string {
	sum := sha256.Sum256([]byte("vaxbook-message/v1|" + strings.Join(parts, "|")))
	return hex.EncodeToString(sum[:16]) + "@" + domain
}

// boundary derives a MIME boundary from the Message-ID.
func (m *Message) boundary(part string) string {
	sum := sha256.Sum256([]byte(m.ID))
	return "vaxbook-" + part + "-" + hex.EncodeToString(sum[:12])
}

// Bytes renders the message as RFC 5322 text with CRLF line ends.
func (m *Message) Bytes() []byte {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("Message-ID", "<"+m.ID+">")
	header("Date", m.Date.UTC().Format(time.RFC1123Z))
	header("From", m.From)
	if m.To != "" {
		header("To", m.To)
	}
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Content-Language", m.Lang)
	header("Auto-Submitted", "auto-generated")
	header("MIME-Version", "1.0")
	mixed := m.boundary("mixed")
	alt := m.boundary("alt")
	if m.Calendar != nil {
		header("Content-Type", `multipart/mixed; boundary="`+mixed+`"`)
		b.WriteString("\r\n--" + mixed + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n", alt)
	b.WriteString("\r\n--" + alt + "\r\n")
	writeQP(&b, "text/plain; charset=utf-8", m.Text)
	b.WriteString("\r\n--" + alt + "\r\n")
	writeQP(&b, "text/html; charset=utf-8", m.HTML)
	b.WriteString("\r\n--" + alt + "--\r\n")
	if m.Calendar != nil {
		b.WriteString("\r\n--" + mixed + "\r\n")
		fmt.Fprintf(&b, "Content-Type: text/calendar; charset=utf-8; method=%s\r\n", m.CalendarMethod)
		b.WriteString("Content-Disposition: attachment; filename=\"appointment.ics\"\r\n")
		b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
		writeBase64(&b, m.Calendar)
		b.WriteString("\r\n--" + mixed + "--\r\n")
	}
	return b.Bytes()
}

func writeQP(b *bytes.Buffer, contentType, body string) {
	fmt.Fprintf(b, "Content-Type: %s\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", contentType)
	w := quotedprintable.NewWriter(b)
	_, _ = w.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	_ = w.Close()
}

func writeBase64(b *bytes.Buffer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
}
