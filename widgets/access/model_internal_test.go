package access

import (
	"context"
	"testing"
	"time"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// fake is a Backend in memory; calls counts what reached it.
type fake struct {
	Backend // nil: an unexpected call panics
	calls   []string
	lookup  func(string) (portal.Practitioner, error)
	grantFn func(est, pract string) (portal.Grant, error)
}

func (f *fake) PractitionerByRPPSIn(_ context.Context, est, rpps string) (portal.Practitioner, error) {
	f.calls = append(f.calls, "lookup "+est+" "+rpps)
	return f.lookup(rpps)
}

func (f *fake) GrantAccessByRPPS(_ context.Context, est, pract, rpps string) (portal.Grant, error) {
	f.calls = append(f.calls, "grant "+est+" "+pract+" "+rpps)
	return f.grantFn(est, pract)
}

func (f *fake) Grants(context.Context) ([]portal.Grant, error) { return nil, nil }

func signedIn() *Model {
	m := NewModel("fr", "chu")
	m.Hydrate(&Snapshot{Patient: &portal.Patient{ID: "p1"}})
	return m
}

func run(m *Model, b Backend, a Action) {
	for cmd := m.Apply(a); cmd != nil; {
		cmd = m.Apply(cmd(context.Background(), b))
	}
}

func TestLookup(t *testing.T) {
	const valid = "10000009992"
	for _, c := range []struct {
		name, rpps string
		lookup     func(string) (portal.Practitioner, error)
		calls      int
		screen     Screen
		rppsErr    bool
		err        portal.ErrorCode
	}{
		{"empty", "", nil, 0, ScreenHome, true, ""},
		{"too short", "1234", nil, 0, ScreenHome, true, ""},
		{"bad check digit", "10000009993", nil, 0, ScreenHome, true, ""},
		{"unknown", valid, func(string) (portal.Practitioner, error) {
			return portal.Practitioner{}, portal.Errorf(portal.ErrNotFound, "no")
		}, 1, ScreenHome, true, ""},
		{"host down", valid, func(string) (portal.Practitioner, error) {
			return portal.Practitioner{}, portal.Errorf(portal.ErrBackendUnavailable, "down")
		}, 1, ScreenHome, false, portal.ErrBackendUnavailable},
		{"found, spaces ignored", "100 000 099 92", func(string) (portal.Practitioner, error) {
			return portal.Practitioner{ID: "pr", Name: "Paul Mercier"}, nil
		}, 1, ScreenConfirmGrant, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, f := signedIn(), &fake{lookup: c.lookup}
			m.Apply(Action{Kind: TypeRPPS, Value: c.rpps})
			run(m, f, Action{Kind: Lookup})
			if len(f.calls) != c.calls || m.Screen != c.screen || (m.RPPSErr != "") != c.rppsErr || m.Err != c.err || m.Busy {
				t.Fatalf("calls %v screen %q rppsErr %q err %q busy %v", f.calls, m.Screen, m.RPPSErr, m.Err, m.Busy)
			}
		})
	}
}

// TestGrantEstablishment: the look-up asks the directory of the
// establishment the grant goes through, and the grant goes through that
// one with that directory's id: the widget's; in a merged widget the one
// the patient chose (asked for before any call), or the host's only one.
func TestGrantEstablishment(t *testing.T) {
	two := []portal.Establishment{{ID: "a", Name: "CHU A"}, {ID: "b", Name: "CH B"}}
	for _, c := range []struct {
		name, est string
		ests      []portal.Establishment
		choose    string
		want      string // "" : no call, the patient is asked to choose
	}{
		{"the widget's", "chu", nil, "", "chu"},
		{"the widget's, a choice ignored", "chu", two, "b", "chu"},
		{"merged: the one chosen", "", two, "b", "b"},
		{"merged: not chosen", "", two, "", ""},
		{"merged: an unknown choice", "", two, "z", ""},
		{"merged: the only one", "", two[:1], "", "a"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := NewModel("fr", c.est)
			m.Hydrate(&Snapshot{Patient: &portal.Patient{ID: "p1"}, Establishments: c.ests})
			m.Apply(Action{Kind: ChooseEst, Value: c.choose})
			m.Apply(Action{Kind: TypeRPPS, Value: "10000009992"})
			f := &fake{
				lookup: func(string) (portal.Practitioner, error) {
					return portal.Practitioner{ID: "pr-of-" + c.want, Name: "Paul"}, nil
				},
				grantFn: func(est, pract string) (portal.Grant, error) {
					return portal.Grant{ID: "g", Establishment: est, PractitionerName: "Paul"}, nil
				},
			}
			run(m, f, Action{Kind: Lookup})
			if c.want == "" {
				if len(f.calls) != 0 || m.ChoiceErr == "" || m.Screen != ScreenHome {
					t.Fatalf("without a choice: calls %v, choice error %q, screen %s", f.calls, m.ChoiceErr, m.Screen)
				}
				return
			}
			if m.Screen != ScreenConfirmGrant || m.FoundIn != c.want || m.ChoiceErr != "" {
				t.Fatalf("after the look-up: screen %s, found in %q, choice error %q", m.Screen, m.FoundIn, m.ChoiceErr)
			}
			// Choosing another establishment on the way does not move the
			// grant away from the directory that answered.
			m.Apply(Action{Kind: ChooseEst, Value: "a"})
			run(m, f, Action{Kind: Grant})
			want := []string{"lookup " + c.want + " 10000009992", "grant " + c.want + " pr-of-" + c.want + " 10000009992"}
			if len(f.calls) != 2 || f.calls[0] != want[0] || f.calls[1] != want[1] {
				t.Fatalf("calls %q, want %q", f.calls, want)
			}
		})
	}
}

func TestGrantThenSessionLost(t *testing.T) {
	m := signedIn()
	m.Found, m.FoundIn = &portal.Practitioner{ID: "pr", Name: "Paul"}, "chu"
	m.goTo(ScreenConfirmGrant)
	f := &fake{grantFn: func(string, string) (portal.Grant, error) {
		return portal.Grant{}, portal.Errorf(portal.ErrUnauthenticated, "gone")
	}}
	cmd := m.Apply(Action{Kind: Grant})
	if cmd == nil || !m.Busy {
		t.Fatal("no grant call")
	}
	if m.Apply(Action{Kind: Grant}) != nil {
		t.Fatal("a second press made a second call")
	}
	next := m.Apply(cmd(context.Background(), f))
	if m.Patient != nil || m.Found != nil || next == nil || !m.Loading {
		t.Fatalf("a lost session was kept: patient %v found %v", m.Patient, m.Found)
	}
}

func TestRevokeAndEvents(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	m := signedIn()
	m.Grants = []portal.Grant{{ID: "old", Granted: now.Add(-48 * time.Hour), Revoked: &now}, {ID: "g1", Granted: now}}
	m.Apply(Action{Kind: Revoke, ID: "old"})
	if m.Screen != ScreenHome {
		t.Fatal("a revoked grant asked for confirmation")
	}
	m.Apply(Action{Kind: Revoke, ID: "g1"})
	if m.Screen != ScreenConfirmRevoke {
		t.Fatalf("screen %q", m.Screen)
	}
	m.Apply(Action{Kind: Cancel})
	if m.Screen != ScreenHome || m.Revoking != nil {
		t.Fatal("cancel kept the confirmation")
	}
	m.Apply(Action{Kind: Revoke, ID: "g1"})
	cmd := m.Apply(Action{Kind: ConfirmRevoke})
	if cmd == nil {
		t.Fatal("no call")
	}
	m.Apply(Action{Kind: revoked, grant: portal.Grant{ID: "g1", Granted: now, Revoked: &now, PractitionerName: "Paul"}})
	if len(m.Events) != 1 || m.Events[0] != (Event{Name: "parcours:access-revoked", Grant: "g1"}) {
		t.Fatalf("events %+v", m.Events)
	}
	if len(m.ActiveGrants()) != 0 || len(m.RevokedGrants()) != 2 || m.Screen != ScreenHome {
		t.Fatalf("grants %+v", m.Grants)
	}
}

func TestPagingAndStaleAnswers(t *testing.T) {
	m := signedIn()
	m.setLog(client.AccessLog{Entries: []client.AccessEntry{{ID: "1"}}, Next: "1"})
	cmd := m.Apply(Action{Kind: LoadMore})
	if cmd == nil || !m.More || m.Apply(Action{Kind: LoadMore}) != nil {
		t.Fatal("paging")
	}
	m.Apply(Action{Kind: paged, seq: m.seq, log: client.AccessLog{Entries: []client.AccessEntry{{ID: "1"}, {ID: "2"}}}})
	if len(m.Log) != 2 || m.Next != "" || m.More {
		t.Fatalf("log %+v next %q", m.Log, m.Next)
	}
	if m.Apply(Action{Kind: LoadMore}) != nil {
		t.Fatal("paged past the end")
	}
	// An answer for a previous screen is dropped.
	m.Apply(Action{Kind: found, seq: m.seq - 1, pract: &portal.Practitioner{ID: "x"}})
	if m.Found != nil {
		t.Fatal("a stale look-up was kept")
	}
}

func TestOperationKeys(t *testing.T) {
	for op, want := range map[string]string{
		"getDocument": "op-document", "listDocuments": "op-documents", "sendMessage": "op-message",
		"somethingNew": "op-other", "": "op-other",
		// Widget documents and their form posts (host/widget.go).
		"widget.inbox": "op-messages", "widget.inbox.open": "op-messages", "widget.messages.send": "op-message",
		"widget.documents.open": "op-document", "widget.documents.confirm-release": "op-release",
		"widget.documents.upload": "op-upload", "widget.documents.trend": "op-results", "widget.documents": "op-documents",
		"widget.booking.confirm": "op-appointment", "widget.booking": "op-appointments",
		"widget.questionnaire.next": "op-questionnaire", "widget.access.grant": "op-grants", "widget.nope": "op-other",
		"widget.inbox.assign": "op-thread", "widget.inbox.close": "op-thread", "widget.documents.sign-in": "op-session",
		"widget.messages.sign-out": "op-session",
	} {
		if got := operationKey(op); got != want {
			t.Errorf("%q: %q, want %q", op, got, want)
		}
		for _, lang := range []string{"fr", "en"} {
			if messages.T(lang, operationKey(op)) == operationKey(op) {
				t.Errorf("%s has no %s text", operationKey(op), lang)
			}
		}
	}
}

func (f *fake) AccessLog(_ context.Context, after string, _ int) (client.AccessLog, error) {
	f.calls = append(f.calls, "log "+after)
	return client.AccessLog{Entries: []client.AccessEntry{{ID: after + "+1"}}}, nil
}

// TestACallAnsweringAScreenLeftDoesNotJamTheWidget: a look-up, or a page
// of the log, answering after the patient went to revoke a grant is
// dropped, and no longer leaves every button disabled: the revocation can
// be confirmed (or cancelled), the log paged.
func TestACallAnsweringAScreenLeftDoesNotJamTheWidget(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	f := &fake{lookup: func(string) (portal.Practitioner, error) { return portal.Practitioner{ID: "pr", Name: "Paul"}, nil }}
	m := signedIn()
	m.Grants = []portal.Grant{{ID: "g1", Granted: now}}
	m.Apply(Action{Kind: TypeRPPS, Value: "10000009992"})
	lookup := m.Apply(Action{Kind: Lookup})
	m.Apply(Action{Kind: Revoke, ID: "g1"})
	m.Apply(lookup(context.Background(), f))
	if m.Screen != ScreenConfirmRevoke || m.Found != nil || m.Busy {
		t.Fatalf("after the look-up answered: screen %s, found %v, busy %v", m.Screen, m.Found, m.Busy)
	}
	if m.Apply(Action{Kind: ConfirmRevoke}) == nil {
		t.Fatal("the revocation cannot be confirmed")
	}

	m = signedIn()
	m.Grants = []portal.Grant{{ID: "g1", Granted: now}}
	m.setLog(client.AccessLog{Entries: []client.AccessEntry{{ID: "1"}}, Next: "1"})
	more := m.Apply(Action{Kind: LoadMore})
	m.Apply(Action{Kind: Revoke, ID: "g1"})
	m.Apply(Action{Kind: Cancel})
	m.Apply(more(context.Background(), f))
	if m.More || len(m.Log) != 1 {
		t.Fatalf("after the page answered: more %v, log %+v", m.More, m.Log)
	}
	if m.Apply(Action{Kind: LoadMore}) == nil {
		t.Fatal("the log can no longer be paged")
	}
}

// TestAGrantAnsweringAfterTheSessionChangedStaysItsOwn: A grants access;
// before the answer, another person's session replaces A's (signed in
// from another tab): B never sees A's grants, nor A's professional.
func TestAGrantAnsweringAfterTheSessionChangedStaysItsOwn(t *testing.T) {
	m := signedIn()
	m.Found, m.FoundIn = &portal.Practitioner{ID: "pr", Name: "Paul"}, "chu"
	m.goTo(ScreenConfirmGrant)
	f := &fake{grantFn: func(string, string) (portal.Grant, error) {
		return portal.Grant{ID: "g-a", PractitionerName: "Paul"}, nil
	}}
	grant := m.Apply(Action{Kind: Grant})
	m.Apply(Action{Kind: SessionChanged})
	m.Apply(Action{Kind: loaded, seq: m.seq, patient: &portal.Patient{ID: "p2"}, grants: []portal.Grant{{ID: "g-b"}}})
	if m.Found != nil || m.Busy {
		t.Fatalf("B inherits A's look-up: found %v, busy %v", m.Found, m.Busy)
	}
	r := grant(context.Background(), f)
	r.grants = []portal.Grant{{ID: "g-a", PractitionerName: "Paul"}}
	m.Apply(r)
	if len(m.Grants) != 1 || m.Grants[0].ID != "g-b" || len(m.Events) != 0 {
		t.Fatalf("B sees grants %+v, events %+v", m.Grants, m.Events)
	}
}
