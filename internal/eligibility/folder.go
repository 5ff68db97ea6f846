package eligibility

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
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
