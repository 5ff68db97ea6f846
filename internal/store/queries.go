package store

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Queries holds the named SQL statements of one domain store, already
// written for the open engine. Statements live in .sql files beside each
// store, in blocks that start with a marker line:
//
//	-- name: take_seat
//	-- name: take_seat postgres   (only for that engine; wins over the plain one)
//
// Placeholders are written as ? and become $1, $2, ... on PostgreSQL.
type Queries struct {
	byName map[string]string
	source string
}

var marker = regexp.MustCompile(`(?m)^--\s*name:\s*([a-z0-9_]+)(?:\s+(postgres|sqlite))?\s*$`)

// ParseQueries reads the blocks of text for dialect d. It panics on a
// malformed file: the file is embedded, so that is a programming error that
// every test catches.
func ParseQueries(d Dialect, source, text string) *Queries {
	q := &Queries{byName: map[string]string{}, source: source}
	locs := marker.FindAllStringSubmatchIndex(text, -1)
	specific := map[string]bool{}
	for i, loc := range locs {
		name := text[loc[2]:loc[3]]
		engine := ""
		if loc[4] >= 0 {
			engine = text[loc[4]:loc[5]]
		}
		end := len(text)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		body := stripComments(text[loc[1]:end])
		switch {
		case engine != "" && Dialect(engine) != d:
			continue
		case engine == "" && specific[name]:
			continue
		}
		if engine != "" {
			specific[name] = true
		} else if _, dup := q.byName[name]; dup {
			panic(fmt.Sprintf("%s: query %q defined twice", source, name))
		}
		if d == Postgres {
			body = Rebind(body)
		}
		q.byName[name] = body
	}
	return q
}

// Get returns the statement called name, panicking if there is none.
func (q *Queries) Get(name string) string {
	s, ok := q.byName[name]
	if !ok {
		panic(fmt.Sprintf("%s: no query named %q", q.source, name))
	}
	return s
}

// Rebind turns ? placeholders into $n, leaving quoted text alone.
func Rebind(query string) string {
	var b strings.Builder
	n := 0
	inQuote := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// RebindFor returns query with placeholders for dialect d. Prefer Queries
// from a .sql file; this is for tests and one-off statements.
func RebindFor(d Dialect, query string) string {
	if d == Postgres {
		return Rebind(query)
	}
	return query
}

// stripComments drops whole-line "--" comments, which explain the SQL to
// readers but could hold quotes that confuse Rebind.
func stripComments(block string) string {
	var kept []string
	for _, line := range strings.Split(block, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		kept = append(kept, line)
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}
