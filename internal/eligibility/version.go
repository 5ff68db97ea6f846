package eligibility

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vaxbook/vaxbook/internal/apperr"
	"github.com/vaxbook/vaxbook/internal/audit"
	"github.com/vaxbook/vaxbook/internal/store"
)

// Pointer move kinds.
const (
	MoveActivate  = "activate"
	MoveScheduled = "scheduled"
	MoveRollback  = "rollback"
)

// Version describes a published version.
type Version struct {
	Version      string    `json:"version"`
	Jurisdiction string    `json:"jurisdiction"`
	EffectiveAt  time.Time `json:"effective_at"`
	Description  string    `json:"description"`
	Digest       string    `json:"digest"`
	PublishedBy  string    `json:"published_by"`
	PublishedAt  time.Time `json:"published_at"`
	// Status is "active", "scheduled" (activates at EffectiveAt) or
	// "draft" (published, never scheduled, not active).
	Status string `json:"status"`
}

// Move is one move of a jurisdiction's active-version pointer.
type Move struct {
	Jurisdiction string    `json:"jurisdiction"`
	From         string    `json:"from"`
	To           string    `json:"to"`
	Kind         string    `json:"kind"`
	Actor        string    `json:"actor"`
	At           time.Time `json:"at"`
}

// Publish validates and stores a document as a new, inactive version. A
// version id can be published once: publishing it again is a conflict,
// even with the same text, so a version always means one document.
func (s *Service) Publish(ctx context.Context, data []byte, actor string) (*Ruleset, error) {
	rs, err := s.Validate(data)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	doc := rs.Doc
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.Get("insert_version"), doc.ID, doc.Jurisdiction,
			rs.Effective.UnixMicro(), doc.Description, string(rs.Canonical), Digest(rs.Canonical),
			actor, now.UnixMicro(), "")
		if store.IsUniqueViolation(err) {
			return apperr.New("conflict", "rule version %s is already published; versions are immutable, publish a new id", doc.ID)
		}
		if err != nil {
			return fmt.Errorf("insert rule version: %w", err)
		}
		return audit.Append(ctx, tx, audit.Record{At: now, Actor: actor, Action: "rules.published",
			Subjects: []string{"rule_version:" + doc.ID}, RuleVersion: doc.ID,
			Details: map[string]any{"jurisdiction": doc.Jurisdiction, "digest": Digest(rs.Canonical),
				"rules": len(doc.Rules)}})
	})
	if err != nil {
		return nil, err
	}
	s.remember(rs)
	s.cfg.Log.InfoContext(ctx, "rule version published", slog.String("rule_version", doc.ID))
	return rs, nil
}

// Activate makes version the active one of its jurisdiction.
func (s *Service) Activate(ctx context.Context, version, actor string) (Move, error) {
	var m Move
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		rs, err := s.ruleset(ctx, tx, version)
		if err != nil {
			return err
		}
		m, err = s.move(ctx, tx, rs.Doc.Jurisdiction, version, MoveActivate, actor)
		return err
	})
	if err == nil {
		s.logMove(ctx, m)
	}
	return m, err
}

// Rollback moves the pointer of jurisdiction back to the version that was
// active before the latest activation not yet rolled back. Successive
// rollbacks walk further back through the history.
func (s *Service) Rollback(ctx context.Context, jurisdiction, actor string) (Move, error) {
	var m Move
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		current, err := s.lockPointer(ctx, tx, jurisdiction)
		if err != nil {
			return err
		}
		var id int64
		var from, to string
		err = tx.QueryRowContext(ctx, s.q.Get("last_move"), jurisdiction, false).Scan(&id, &from, &to)
		if store.IsNoRows(err) || (err == nil && from == "") {
			return apperr.New("conflict", "%s has no earlier active version to roll back to", jurisdiction)
		}
		if err != nil {
			return fmt.Errorf("read pointer history: %w", err)
		}
		if to != current {
			return apperr.New("conflict", "the pointer history of %s does not end at %s", jurisdiction, current)
		}
		if _, err := tx.ExecContext(ctx, s.q.Get("mark_undone"), true, id); err != nil {
			return fmt.Errorf("mark activation undone: %w", err)
		}
		m, err = s.move(ctx, tx, jurisdiction, from, MoveRollback, actor)
		return err
	})
	if err == nil {
		s.logMove(ctx, m)
	}
	return m, err
}

// lockPointer returns the active version of jurisdiction, locking the row.
func (s *Service) lockPointer(ctx context.Context, tx *store.Tx, jurisdiction string) (string, error) {
	var v string
	err := tx.QueryRowContext(ctx, s.q.Get("lock_pointer"), jurisdiction).Scan(&v)
	if store.IsNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lock active version: %w", err)
	}
	return v, nil
}

// move points jurisdiction at to, recording the move and its audit record.
func (s *Service) move(ctx context.Context, tx *store.Tx, jurisdiction, to, kind, actor string) (Move, error) {
	from, err := s.lockPointer(ctx, tx, jurisdiction)
	if err != nil {
		return Move{}, err
	}
	if from == to {
		return Move{}, apperr.New("conflict", "%s is already the active version of %s", to, jurisdiction)
	}
	now := s.cfg.Clock.Now()
	m := Move{Jurisdiction: jurisdiction, From: from, To: to, Kind: kind, Actor: actor, At: now}
	if _, err := tx.ExecContext(ctx, s.q.Get("insert_move"), jurisdiction, from, to, kind, actor, now.UnixMicro()); err != nil {
		return Move{}, fmt.Errorf("record pointer move: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q.Get("upsert_pointer"), jurisdiction, to, now.UnixMicro()); err != nil {
		return Move{}, fmt.Errorf("move pointer: %w", err)
	}
	action := map[string]string{MoveActivate: "rules.activated", MoveScheduled: "rules.activated",
		MoveRollback: "rules.rolled_back"}[kind]
	return m, audit.Append(ctx, tx, audit.Record{At: now, Actor: actor, Action: action,
		Subjects: []string{"rule_version:" + to}, RuleVersion: to,
		Details: map[string]any{"jurisdiction": jurisdiction, "from": from, "to": to, "kind": kind}})
}

func (s *Service) logMove(ctx context.Context, m Move) {
	s.cfg.Log.InfoContext(ctx, "rule pointer moved", slog.String("jurisdiction", m.Jurisdiction),
		slog.String("from", m.From), slog.String("to", m.To), slog.String("kind", m.Kind))
}

// Schedule marks version to be activated by ActivateDue once its
// effective time has come.
func (s *Service) Schedule(ctx context.Context, version, actor string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		rs, err := s.ruleset(ctx, tx, version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.Get("set_schedule"), "pending", version); err != nil {
			return fmt.Errorf("schedule version: %w", err)
		}
		return audit.Append(ctx, tx, audit.Record{At: s.cfg.Clock.Now(), Actor: actor,
			Action: "rules.scheduled", Subjects: []string{"rule_version:" + version}, RuleVersion: version,
			Details: map[string]any{"jurisdiction": rs.Doc.Jurisdiction,
				"effective_at": rs.Effective.UTC().Format(time.RFC3339)}})
	})
}

// ActivateDue activates, per jurisdiction, the latest scheduled version
// whose effective time has passed on the service's clock. The server
// calls it periodically; it returns the moves it made.
func (s *Service) ActivateDue(ctx context.Context) ([]Move, error) {
	var moves []Move
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		moves = nil
		due, err := s.dueVersions(ctx, tx)
		if err != nil {
			return err
		}
		for jurisdiction, versions := range due {
			for _, v := range versions {
				if _, err := tx.ExecContext(ctx, s.q.Get("set_schedule"), "done", v); err != nil {
					return fmt.Errorf("mark schedule done: %w", err)
				}
			}
			latest := versions[len(versions)-1]
			m, err := s.move(ctx, tx, jurisdiction, latest, MoveScheduled, audit.System)
			if apperr.Is(err, "conflict") {
				continue // already active: nothing to move
			}
			if err != nil {
				return err
			}
			moves = append(moves, m)
		}
		return nil
	})
	for _, m := range moves {
		s.logMove(ctx, m)
	}
	return moves, err
}

func (s *Service) dueVersions(ctx context.Context, tx *store.Tx) (map[string][]string, error) {
	rows, err := tx.QueryContext(ctx, s.q.Get("due_versions"), s.cfg.Clock.Now().UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("read due versions: %w", err)
	}
	defer rows.Close()
	due := map[string][]string{}
	for rows.Next() {
		var v, j string
		if err := rows.Scan(&v, &j); err != nil {
			return nil, err
		}
		due[j] = append(due[j], v)
	}
	return due, rows.Err()
}

// Versions lists every published version.
func (s *Service) Versions(ctx context.Context) ([]Version, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("list_versions"))
	if err != nil {
		return nil, fmt.Errorf("list rule versions: %w", err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		var v Version
		var eff, pub int64
		var schedule, active string
		if err := rows.Scan(&v.Version, &v.Jurisdiction, &eff, &v.Description, &v.Digest,
			&v.PublishedBy, &pub, &schedule, &active); err != nil {
			return nil, err
		}
		v.EffectiveAt, v.PublishedAt = micros(eff), micros(pub)
		switch {
		case active == v.Version:
			v.Status = "active"
		case schedule == "pending":
			v.Status = "scheduled"
		default:
			v.Status = "draft"
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Moves lists the history of pointer moves, oldest first.
func (s *Service) Moves(ctx context.Context) ([]Move, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("list_moves"))
	if err != nil {
		return nil, fmt.Errorf("list pointer moves: %w", err)
	}
	defer rows.Close()
	var out []Move
	for rows.Next() {
		var m Move
		var at int64
		if err := rows.Scan(&m.Jurisdiction, &m.From, &m.To, &m.Kind, &m.Actor, &at); err != nil {
			return nil, err
		}
		m.At = micros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// Jurisdictions returns the jurisdictions that have an active version.
func (s *Service) Jurisdictions(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.Read.QueryContext(ctx, s.q.Get("list_pointers"))
	if err != nil {
		return nil, fmt.Errorf("list active versions: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var j, v string
		if err := rows.Scan(&j, &v); err != nil {
			return nil, err
		}
		out[j] = v
	}
	return out, rows.Err()
}

// resolveJurisdiction picks the jurisdiction when the caller names none:
// the one with an active version if there is exactly one.
func (s *Service) resolveJurisdiction(ctx context.Context, jurisdiction string) (string, error) {
	if jurisdiction != "" {
		return jurisdiction, nil
	}
	all, err := s.Jurisdictions(ctx)
	if err != nil {
		return "", err
	}
	if len(all) == 1 {
		for j := range all {
			return j, nil
		}
	}
	if len(all) == 0 {
		return "", apperr.New("conflict", "no rule version is active")
	}
	return "", apperr.Invalid("jurisdiction", "name the jurisdiction: several have active rules")
}

// RollbackIn rolls back jurisdiction, or the only jurisdiction with an
// active version when jurisdiction is empty.
func (s *Service) RollbackIn(ctx context.Context, jurisdiction, actor string) (Move, error) {
	j, err := s.resolveJurisdiction(ctx, jurisdiction)
	if err != nil {
		return Move{}, err
	}
	return s.Rollback(ctx, j, actor)
}
