package access

import (
	"context"
	"strconv"
	"strings"

	"github.com/vugu/vugu"

	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/widgets"
	"github.com/parcours-sante/parcours/widgets/internal/ui"
)

// MountID is the id of the widget's root element (see widgets/booking).
const MountID = "parcours-root"

// Access is the vugu root component of <parcours-access>.
type Access struct {
	M       *Model
	Backend Backend
	// Emit, when set, receives widget events for the host page; it must
	// not block.
	Emit func(Event)
	Ctx  context.Context
	// Action is where the widget's form posts (the host's document for
	// it): before the Wasm runs, or where WebAssembly is blocked, the
	// buttons post it and the host answers with the next screen (Serve).
	Action     string
	Interacted bool
	driver     *ui.Driver[Action, Backend]
}

func (c *Access) drive() *ui.Driver[Action, Backend] {
	if c.driver == nil {
		c.driver = &ui.Driver[Action, Backend]{
			Apply:      func(a Action) func(context.Context, Backend) Action { return c.M.Apply(a) },
			Backend:    c.Backend,
			HasBackend: c.Backend != nil,
			Ctx:        c.Ctx,
			Panicked:   func(error) Action { return Action{Kind: Crashed} },
			After:      func() { ui.Flush(&c.M.Events, c.Emit) },
		}
	}
	return c.driver
}

// Init starts loading (unless the host's snapshot hydrated the model) when
// the component is first built in a browser.
func (c *Access) Init(ctx vugu.InitCtx) {
	ee := ctx.EventEnv()
	if ee == nil || c.Backend == nil {
		return // a server-side render
	}
	if c.M.Loading {
		c.drive().Start(ee, Action{Kind: Start})
	}
}

// Do handles a button: the named action with an id argument.
func (c *Access) Do(event vugu.DOMEvent, kind, id string) {
	event.PreventDefault()
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), ID: id, Value: id})
}

// Change handles a field: the named action with the field's value.
func (c *Access) Change(event vugu.DOMEvent, kind string) {
	c.Interacted = true
	c.drive().Dispatch(event.EventEnv(), Action{Kind: Kind(kind), Value: event.PropString("target", "value")})
}

// Running reports how many backend calls are under way (under the lock).
func (c *Access) Running() int { return c.drive().Running() }

// View reports the screen (focus moves to its heading when it changes after
// the person acted), whether it is loading, and whether they acted.
func (c *Access) View() (screen string, loading, interacted bool) {
	return string(c.M.Screen), c.M.Loading, c.Interacted
}

// T returns a UI text in the widget's language.
func (c *Access) T(key string) string { return messages.T(c.M.Lang, key) }

func (c *Access) tf(key string, args ...any) string { return messages.Tf(c.M.Lang, key, args...) }

// Busy is the aria-busy value.
func (c *Access) Busy() string { return strconv.FormatBool(c.M.Loading || c.M.Busy) }

// CanRetry reports whether the error's action can be tried again.
func (c *Access) CanRetry() bool { return c.M.retry != nil }

// SignedIn reports whether someone is signed in.
func (c *Access) SignedIn() bool { return c.M.signedIn() }

// Pro reports whether a practitioner is signed in.
func (c *Access) Pro() bool { return !c.M.Loading && c.M.Practitioner != nil }

// ShowSignIn reports whether the sign-in panel shows.
func (c *Access) ShowSignIn() bool {
	return !c.M.Loading && !c.M.signedIn() && (c.M.Err == "" || c.M.Err == portal.ErrUnauthenticated)
}

// Show reports whether a patient's screen is visible.
func (c *Access) Show(screen string) bool {
	if c.M.Loading || c.M.Patient == nil || c.M.Screen != Screen(screen) {
		return false
	}
	switch c.M.Screen {
	case ScreenConfirmGrant:
		return c.M.Found != nil
	case ScreenConfirmRevoke:
		return c.M.Revoking != nil
	}
	return true
}

// HasDemo reports whether demo sign-in is offered.
func (c *Access) HasDemo() bool { return len(c.M.DemoPatients) > 0 }

// Option is a choice of a select.
type Option struct{ ID, Label string }

// DemoOptions are the demo patients one may sign in as.
func (c *Access) DemoOptions() []Option {
	var out []Option
	for _, p := range c.M.DemoPatients {
		out = append(out, Option{p.ID, p.DisplayName()})
	}
	return out
}

// SignInLinks are the patients' sign-in buttons.
func (c *Access) SignInLinks() []widgets.SignInLink {
	return ui.SignInLinks(c.M.SignIn, "patient")
}

// SignedInAs names who is signed in.
func (c *Access) SignedInAs() string {
	switch {
	case c.M.Practitioner != nil:
		return c.tf("signed-in-as", c.M.Practitioner.Name)
	case c.M.Patient != nil:
		return c.tf("signed-in-as", c.M.Patient.DisplayName())
	}
	return ""
}

// Who names the author of an access: the practitioner's name, or the kind.
func (c *Access) Who(e client.AccessEntry) string {
	switch {
	case e.AgentName != "":
		return e.AgentName
	case e.AgentKind == string(portal.AuthorPractitioner):
		return c.T("care-team")
	case e.AgentKind == string(portal.AuthorPatient):
		return c.T("agent-patient")
	case e.AgentKind == "anonymous":
		return c.T("agent-anonymous")
	}
	return c.T("agent-other")
}

// What says in plain words what an access did.
func (c *Access) What(e client.AccessEntry) string { return c.T(operationKey(e.Operation)) }

// When is the local time of an access in Paris.
func (c *Access) When(e client.AccessEntry) string {
	return ui.DateTime(c.M.Lang, ui.Paris(e.Time))
}

// Refused reports whether an access was refused.
func (c *Access) Refused(e client.AccessEntry) bool { return e.Outcome != portal.AuditSuccess }

// Outcome is "success" or "refused", for styling and tests.
func (c *Access) Outcome(e client.AccessEntry) string {
	if c.Refused(e) {
		return "refused"
	}
	return "success"
}

// GrantText dates a grant and, in a merged widget where the patient
// chooses, names the establishment whose record it opens.
func (c *Access) GrantText(g portal.Grant) string {
	var s string
	if g.Revoked != nil {
		s = c.tf("grant-ended", ui.Date(c.M.Lang, ui.Paris(*g.Revoked)), ui.Date(c.M.Lang, ui.Paris(g.Granted)))
	} else {
		s = c.tf("grant-since", ui.Date(c.M.Lang, ui.Paris(g.Granted)))
	}
	if c.M.Choosing() {
		s += " " + c.tf("grant-through", c.estName(g.Establishment))
	}
	return s
}

// RevokeLabel is the accessible name of a grant's revoke button: the
// practitioner, and where the patient chooses, the establishment (the
// same professional may hold a grant in each).
func (c *Access) RevokeLabel(g portal.Grant) string {
	if c.M.Choosing() {
		return c.tf("revoke-for-in", g.PractitionerName, c.estName(g.Establishment))
	}
	return c.tf("revoke-for", g.PractitionerName)
}

// RevokeQuestion asks to confirm the revocation.
func (c *Access) RevokeQuestion() string {
	if c.M.Revoking == nil {
		return ""
	}
	return c.tf("revoke-confirm", c.M.Revoking.PractitionerName)
}

// FoundRole is the role of the professional found.
func (c *Access) FoundRole() string {
	if c.M.Found == nil {
		return ""
	}
	return c.M.Found.Role.In(c.M.Lang)
}

// GrantEffect says what granting does and through which establishment:
// the one whose directory found the professional.
func (c *Access) GrantEffect() string {
	return c.tf("grant-effect", c.estName(c.M.FoundIn))
}

func (c *Access) estName(id string) string { return c.M.estName(id) }

// EstOptions are the establishments a merged widget offers to grant
// through, after a first option asking to choose.
func (c *Access) EstOptions() []Option {
	out := []Option{{"", c.T("establishment-choose")}}
	for _, e := range c.M.Establishments {
		out = append(out, Option{e.ID, c.estName(e.ID)})
	}
	return out
}

// ChoiceInvalid is the aria-invalid value of the establishment's select.
func (c *Access) ChoiceInvalid() string { return strconv.FormatBool(c.M.ChoiceErr != "") }

// ChoiceDescribedBy points the select at its help, and its error when shown.
func (c *Access) ChoiceDescribedBy() string {
	if c.M.ChoiceErr != "" {
		return "pc-est-help pc-est-err"
	}
	return "pc-est-help"
}

// RPPSInvalid is the aria-invalid value of the RPPS field.
func (c *Access) RPPSInvalid() string { return strconv.FormatBool(c.M.RPPSErr != "") }

// RPPSDescribedBy points the field at its help, and its error when shown.
func (c *Access) RPPSDescribedBy() string {
	if c.M.RPPSErr != "" {
		return "pc-rpps-help pc-rpps-err"
	}
	return "pc-rpps-help"
}

// operationKey maps an API operation id (host/audit.go), or a widget
// document's ("widget.<name>[.<action>]": its first screen, or a form post
// before the Wasm runs), to a message key.
func operationKey(op string) string {
	if w, ok := strings.CutPrefix(op, "widget."); ok {
		return widgetOperationKey(strings.Cut(w, "."))
	}
	switch op {
	case "listDocuments", "countDocuments":
		return "op-documents"
	case "getDocument", "getDocumentContent", "getDocumentImage", "markDocumentSeen":
		return "op-document"
	case "listAnalytes", "getTrend":
		return "op-results"
	case "releaseDocument":
		return "op-release"
	case "uploadDocument":
		return "op-upload"
	case "listThreads", "listInbox", "getThread", "getAttachment", "getAttachmentMetadata", "markThreadRead":
		return "op-messages"
	case "sendMessage", "startThread":
		return "op-message"
	case "assignThread", "closeThread":
		return "op-thread"
	case "listAppointments", "getAppointment", "getAppointmentCalendar":
		return "op-appointments"
	case "bookAppointment", "cancelAppointment":
		return "op-appointment"
	case "getQuestionnaireDraft", "getQuestionnaireResponse", "saveQuestionnaireDraft", "deleteQuestionnaireDraft", "submitQuestionnaireResponse":
		return "op-questionnaire"
	case "getAccessLog", "listGrants", "grantAccess", "revokeAccess":
		return "op-grants"
	case "getSession", "deleteSession", "createDemoSession", "createDemoPractitionerSession":
		return "op-session"
	}
	return "op-other"
}

// widgetOperationKey is operationKey for a widget's document, or one of
// its form posts (verb: the button's action).
func widgetOperationKey(widget, verb string, _ bool) string {
	if verb == "sign-in" || verb == "sign-out" {
		return "op-session"
	}
	switch widget {
	case "booking":
		if verb == "confirm" || verb == "cancel" {
			return "op-appointment"
		}
		return "op-appointments"
	case "questionnaire":
		return "op-questionnaire"
	case "messages", "inbox":
		switch verb {
		case "send":
			return "op-message"
		case "assign", "close":
			return "op-thread"
		}
		return "op-messages"
	case "documents":
		switch verb {
		case "upload":
			return "op-upload"
		case "confirm-release":
			return "op-release"
		case "open":
			return "op-document"
		case "trend":
			return "op-results"
		}
		return "op-documents"
	case "access":
		return "op-grants"
	}
	return "op-other"
}

// RevokeValue and ConfirmRevokeValue are the form values of a grant's
// buttons.
func (c *Access) RevokeValue(g portal.Grant) string { return string(Revoke) + ":" + g.ID }

// ConfirmRevokeValue: see RevokeValue.
func (c *Access) ConfirmRevokeValue() string {
	if c.M.Revoking == nil {
		return string(ConfirmRevoke)
	}
	return string(ConfirmRevoke) + ":" + c.M.Revoking.ID
}

// Bool is "true" or "false", for data attributes.
func (c *Access) Bool(v bool) string { return strconv.FormatBool(v) }
