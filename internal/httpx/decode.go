package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/vaxbook/vaxbook/internal/apperr"
)

// MaxBody bounds every JSON request body.
const MaxBody = 64 << 10

// Decode reads one JSON object into dst, strictly: unknown fields, trailing
// data, wrong types and bodies over MaxBody are invalid-request (or
// payload-too-large) errors that name the field where they can.
func Decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return apperr.New("unsupported-media-type", "send the body as application/json")
		}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return apperr.New("invalid-request", "the body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return apperr.New("payload-too-large", "the body is over %d bytes", MaxBody)
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New("invalid-request", "the body is not valid JSON")
	case errors.Is(err, io.EOF):
		return apperr.New("invalid-request", "the body is empty")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(body)"
		}
		return apperr.Invalid(field, fmt.Sprintf("must be %s", typeErr.Type.String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Invalid(field, "unknown field")
	}
	return apperr.New("invalid-request", "the body could not be read")
}

// Fields collects field errors for one request and turns them into one
// invalid-request error.
type Fields map[string]string

// Check records message for field when bad is true.
func (f Fields) Check(bad bool, field, message string) {
	if bad {
		if _, seen := f[field]; !seen {
			f[field] = message
		}
	}
}

// Err returns nil when no field failed.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &apperr.Error{Name: "invalid-request", Detail: "the request has invalid fields", Fields: f}
}
