package eligibility

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
)

// LoadFS reads and compiles every .yaml, .yml and .json document in dir of
// fsys, sorted by effective time. A file must be named after its id, so the
// folder can be read as a table of versions.
func LoadFS(fsys fs.FS, dir string, costLimit uint64) ([]*Ruleset, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read rule folder: %w", err)
	}
	var out []*Ruleset
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		rs, err := loadFile(fsys, path.Join(dir, e.Name()), costLimit)
		if err != nil {
			return nil, err
		}
		if want := strings.TrimSuffix(e.Name(), ext); rs.Doc.ID != want {
			return nil, fmt.Errorf("%s: id %q does not match the file name", e.Name(), rs.Doc.ID)
		}
		out = append(out, rs)
	}
	slices.SortFunc(out, func(a, b *Ruleset) int { return a.Effective.Compare(b.Effective) })
	return out, nil
}

func loadFile(fsys fs.FS, name string, costLimit uint64) (*Ruleset, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read rule document: %w", err)
	}
	doc, err := ParseDocument(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rs, err := Compile(doc, costLimit)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rs, nil
}

// PublishAndActivate publishes every document of dir in fsys that is not
// published yet, activates the version in effect at instant on (the latest
// whose effective time is not after it) and schedules the later ones, so
// that ActivateDue opens each cohort on its date. It returns the version it
// left active. Running it again is harmless.
func (s *Service) PublishAndActivate(ctx context.Context, fsys fs.FS, dir string, on time.Time, actor string) (string, error) {
	list, err := LoadFS(fsys, dir, s.cfg.CostLimit)
	if err != nil {
		return "", err
	}
	inEffect := ""
	for _, rs := range list {
		if _, err := s.Publish(ctx, rs.Canonical, actor); err != nil && !apperr.Is(err, "conflict") {
			return "", fmt.Errorf("publish %s: %w", rs.Doc.ID, err)
		}
		if rs.Effective.After(on) {
			if err := s.Schedule(ctx, rs.Doc.ID, actor); err != nil {
				return "", err
			}
			continue
		}
		inEffect = rs.Doc.ID
	}
	if inEffect == "" {
		return "", fmt.Errorf("no version in %s is in effect at %s", dir, on.Format(time.RFC3339))
	}
	if _, err := s.Activate(ctx, inEffect, actor); err != nil && !apperr.Is(err, "conflict") {
		return "", err
	}
	return inEffect, nil
}
