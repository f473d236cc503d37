package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/parcours-sante/parcours/host/backend/fhir"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
)

const auditUsage = `usage:
  parcours audit export [-db FILE] [-since T] [-until T] [-patient ID] [-o FILE]
      write the audit records, oldest first, as FHIR R4 AuditEvent resources,
      one per line (FHIR NDJSON, application/fhir+ndjson); T is RFC 3339
  parcours audit verify [-db FILE]
      check the audit log's hash chain; print the records checked and the
      head (seq and hash) to keep elsewhere; exit 1 if the chain is broken
`

// errAuditBroken is a verification that found the chain broken.
var errAuditBroken = errors.New("audit: the hash chain is broken")

// auditCmd runs "parcours audit export|verify". Progress and the summary go
// to progress (stderr), the export to out or -o.
func auditCmd(ctx context.Context, args []string, out, progress io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("audit: missing subcommand\n%s", auditUsage)
	}
	switch args[0] {
	case "export":
		return auditExport(ctx, args[1:], out, progress)
	case "verify":
		return auditVerify(ctx, args[1:], progress)
	case "-h", "--help", "help":
		fmt.Fprint(out, auditUsage)
		return nil
	}
	return fmt.Errorf("audit: unknown subcommand %q\n%s", args[0], auditUsage)
}

// openAuditStore opens the existing database at path: an audit command
// must not create an empty one from a mistyped name.
func openAuditStore(ctx context.Context, path string) (*sqlite.Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("audit: database %s: %w", path, err)
	}
	return sqlite.Open(ctx, path)
}

func auditExport(ctx context.Context, args []string, out, progress io.Writer) (err error) {
	fset := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fset.SetOutput(progress)
	db := fset.String("db", env("PARCOURS_DB", "parcours.db"), "SQLite database file (env PARCOURS_DB)")
	since := fset.String("since", "", "first instant included, RFC 3339 (default: the beginning)")
	until := fset.String("until", "", "instant excluded, RFC 3339 (default: now)")
	patient := fset.String("patient", "", "only the records about this patient")
	outFile := fset.String("o", "", "output file (default: standard output); created, never overwritten")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("audit export: unexpected argument %q", fset.Arg(0))
	}
	q := portal.AuditQuery{Patient: *patient, Limit: 1000}
	for _, b := range []struct {
		flag, v string
		into    *time.Time
	}{{"since", *since, &q.Since}, {"until", *until, &q.Until}} {
		if b.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, b.v)
		if err != nil {
			return fmt.Errorf("audit export: -%s %q: want an RFC 3339 instant such as 2026-11-01T00:00:00Z", b.flag, b.v)
		}
		*b.into = t
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return errors.New("audit export: -since must be before -until")
	}
	store, err := openAuditStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	if *outFile != "" {
		f, err := os.OpenFile(*outFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		out = f
	}
	w := bufio.NewWriterSize(out, 64<<10)
	n := 0
	for {
		page, err := store.AuditEvents(ctx, q)
		if err != nil {
			return fmt.Errorf("audit export: after %d records: %w", n, err)
		}
		for _, e := range page {
			line, err := fhir.AuditEventJSON(e)
			if err != nil {
				return fmt.Errorf("audit export: record %s: %w", e.ID, err)
			}
			w.Write(line)
			w.WriteByte('\n')
			n++
			if n%100_000 == 0 {
				fmt.Fprintf(progress, "audit export: %d records…\n", n)
			}
		}
		if len(page) < q.Limit {
			break
		}
		q.After = page[len(page)-1].ID
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	fmt.Fprintf(progress, "audit export: %d records\n", n)
	return nil
}

func auditVerify(ctx context.Context, args []string, progress io.Writer) error {
	fset := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fset.SetOutput(progress)
	db := fset.String("db", env("PARCOURS_DB", "parcours.db"), "SQLite database file (env PARCOURS_DB)")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() > 0 {
		return fmt.Errorf("audit verify: unexpected argument %q", fset.Arg(0))
	}
	store, err := openAuditStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	checked, err := store.VerifyAudit(ctx)
	if err != nil {
		fmt.Fprintf(progress, "audit verify: %d records checked before: %v\n", checked, err)
		return errAuditBroken
	}
	seq, hash, err := store.AuditHead(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	fmt.Fprintf(progress, "audit verify: %d records, chain intact; head seq %d hash %s\n", checked, seq, hash)
	return nil
}
