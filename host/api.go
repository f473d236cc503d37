package host

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/parcours-sante/parcours/host/plugin"
	"github.com/parcours-sante/parcours/sdk/client"
	"github.com/parcours-sante/parcours/sdk/portal"
)

// route is one API operation. The table drives the router and is checked
// against the OpenAPI document by a test, so the two cannot drift apart.
type route struct {
	method  string
	pattern string // http.ServeMux pattern, without the method
	// op is the OpenAPI operationId.
	op     string
	handle func(w http.ResponseWriter, r *http.Request) error
}

func (h *Host) apiRoutes() []route {
	return []route{
		{"GET", "/api/v1/openapi.json", "getOpenAPI", h.getOpenAPI},
		{"GET", "/api/v1/establishments", "listEstablishments", h.listEstablishments},
		{"GET", "/api/v1/establishments/{establishment}", "getEstablishment", h.getEstablishment},
		{"GET", "/api/v1/establishments/{establishment}/services", "listServices", h.listServices},
		{"GET", "/api/v1/establishments/{establishment}/slots", "listFreeSlots", h.listFreeSlots},
		{"POST", "/api/v1/establishments/{establishment}/appointments", "bookAppointment", h.bookAppointment},
		{"GET", "/api/v1/appointments", "listAppointments", h.listAppointments},
		{"GET", "/api/v1/appointments/{id}", "getAppointment", h.getAppointment},
		{"POST", "/api/v1/appointments/{id}/cancel", "cancelAppointment", h.cancelAppointment},
		{"GET", "/api/v1/appointments/{id}/calendar.ics", "getAppointmentCalendar", h.getAppointmentCalendar},
		{"GET", "/api/v1/establishments/{establishment}/questionnaires/{questionnaire}", "getQuestionnaire", h.getQuestionnaire},
		{"GET", "/api/v1/establishments/{establishment}/questionnaires/{questionnaire}/draft", "getQuestionnaireDraft", h.getQuestionnaireDraft},
		{"PUT", "/api/v1/establishments/{establishment}/questionnaires/{questionnaire}/draft", "saveQuestionnaireDraft", h.saveQuestionnaireDraft},
		{"DELETE", "/api/v1/establishments/{establishment}/questionnaires/{questionnaire}/draft", "deleteQuestionnaireDraft", h.deleteQuestionnaireDraft},
		{"POST", "/api/v1/establishments/{establishment}/questionnaires/{questionnaire}/responses", "submitQuestionnaireResponse", h.submitQuestionnaireResponse},
		{"GET", "/api/v1/questionnaire-responses/{id}", "getQuestionnaireResponse", h.getQuestionnaireResponse},
		{"GET", "/api/v1/session", "getSession", h.getSession},
		{"DELETE", "/api/v1/session", "deleteSession", h.deleteSession},
		{"POST", "/api/v1/session/handoff", "redeemSignIn", h.redeemHandoff},
		{"GET", "/api/v1/access-log", "getAccessLog", h.getAccessLog},
		{"GET", "/api/v1/demo/patients", "listDemoPatients", h.listDemoPatients},
		{"POST", "/api/v1/demo/session", "createDemoSession", h.createDemoSession},
		{"GET", "/api/v1/demo/practitioners", "listDemoPractitioners", h.listDemoPractitioners},
		{"POST", "/api/v1/demo/practitioner-session", "createDemoPractitionerSession", h.createDemoPractitionerSession},
		{"GET", "/api/v1/establishments/{establishment}/threads", "listThreads", h.listThreads},
		{"POST", "/api/v1/establishments/{establishment}/threads", "startThread", h.startThread},
		{"GET", "/api/v1/establishments/{establishment}/inbox", "listInbox", h.listInbox},
		{"GET", "/api/v1/threads/{id}", "getThread", h.getThread},
		{"POST", "/api/v1/threads/{id}/messages", "sendMessage", h.sendMessage},
		{"POST", "/api/v1/threads/{id}/read", "markThreadRead", h.markThreadRead},
		{"POST", "/api/v1/threads/{id}/assign", "assignThread", h.assignThread},
		{"POST", "/api/v1/threads/{id}/close", "closeThread", h.closeThread},
		{"GET", "/api/v1/messages/{message}/attachments/{attachment}", "getAttachment", h.getAttachment},
		{"GET", "/api/v1/messages/{message}/attachments/{attachment}/metadata", "getAttachmentMetadata", h.getAttachmentMetadata},
		{"GET", "/api/v1/establishments/{establishment}/documents", "listDocuments", h.listDocuments},
		{"POST", "/api/v1/establishments/{establishment}/documents", "uploadDocument", h.uploadDocument},
		{"GET", "/api/v1/establishments/{establishment}/documents/count", "countDocuments", h.countDocuments},
		{"GET", "/api/v1/establishments/{establishment}/analytes", "listAnalytes", h.listAnalytes},
		{"GET", "/api/v1/establishments/{establishment}/analytes/{code}/trend", "getTrend", h.getTrend},
		{"GET", "/api/v1/documents/{id}", "getDocument", h.getDocument},
		{"GET", "/api/v1/documents/{id}/content", "getDocumentContent", h.getDocumentContent},
		{"GET", "/api/v1/documents/{id}/images/{image}", "getDocumentImage", h.getDocumentImage},
		{"POST", "/api/v1/documents/{id}/seen", "markDocumentSeen", h.markDocumentSeen},
		{"POST", "/api/v1/documents/{id}/release", "releaseDocument", h.releaseDocument},
		{"GET", "/api/v1/grants", "listGrants", h.listGrants},
		{"POST", "/api/v1/establishments/{establishment}/grants", "grantAccess", h.grantAccess},
		{"POST", "/api/v1/grants/{id}/revoke", "revokeAccess", h.revokeAccess},
		{"GET", "/api/v1/practitioners/rpps/{rpps}", "getPractitionerByRPPS", h.getPractitionerByRPPS},
	}
}

// apiHandler routes /api/: every answer, errors included, is JSON with the
// API's security headers; unknown paths are not_found and known paths with
// another method are method_not_allowed.
func (h *Host) apiHandler() http.Handler {
	mux := http.NewServeMux()
	paths := map[string][]string{}
	for _, rt := range h.routes {
		rt := rt
		serve := func(w http.ResponseWriter, r *http.Request) {
			if err := rt.handle(w, r); err != nil {
				h.logError(r, err)
				writeError(w, r, err)
			}
		}
		action, audited := auditedRoutes[rt.op]
		mux.HandleFunc(rt.method+" "+rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			r, err := h.withSubject(r)
			if err == nil {
				err = samePerson(r)
			}
			if err != nil {
				h.logError(r, err)
				writeError(w, r, err)
				return
			}
			if audited {
				h.audited(rt.op, action, w, r, serve)
				return
			}
			serve(w, r)
		})
		paths[rt.pattern] = append(paths[rt.pattern], rt.method)
	}
	for p, methods := range paths {
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, r, portal.Errorf(portal.ErrMethodNotAllowed, "%s %s", r.Method, r.URL.Path))
		})
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, portal.Errorf(portal.ErrNotFound, "%s", r.URL.Path))
	})

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, portal.Errorf(portal.ErrForbidden, "cross-origin request refused"))
	}))
	var handler http.Handler = csrf.Handler(mux)
	handler = compressed(handler)
	return h.apiHeaders(handler)
}

// apiHeaders sets the headers every API answer carries and answers CORS.
// Cross-origin callers (the hospital pages listed in the configuration) may
// read public data; they never get credentials: the session cookie only
// travels with the widget's same-origin requests.
func (h *Host) apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Resource-Policy", "same-site")
		hd.Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); origin != "" && h.allowed[strings.ToLower(origin)] {
			hd.Set("Access-Control-Allow-Origin", origin)
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				hd.Set("Access-Control-Allow-Methods", "GET")
				hd.Set("Access-Control-Allow-Headers", "Accept-Language, Content-Type")
				hd.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		// The largest body any route reads; each route bounds its own
		// (decodeJSON: MaxBodyBytes, a QuestionnaireResponse:
		// portal.MaxQuestionnaireResponse, a message: messageBodyLimit, an
		// upload: documentBodyLimit).
		r.Body = http.MaxBytesReader(w, r.Body, max(h.cfg.MaxBodyBytes, portal.MaxQuestionnaireResponse, h.messageLimit, h.documentLimit))
		next.ServeHTTP(w, r)
	})
}

func (h *Host) logError(r *http.Request, err error) {
	code := portal.Code(err)
	lvl := slog.LevelDebug // refusals are expected; failures are not
	if code.Status() >= 500 {
		lvl = slog.LevelError
	}
	if r.Context().Err() != nil {
		// The client went away (a page closed, a frame reloaded): the
		// backend call was cancelled with it; nothing failed.
		h.log.Log(r.Context(), slog.LevelDebug, "api request cancelled by the client", "method", r.Method, "route", r.Pattern)
		return
	}
	h.log.Log(r.Context(), lvl, "api error", "method", r.Method, "route", r.Pattern, "code", string(code), "detail", err.Error())
}

// samePerson refuses a write made for another person than the session's
// (client.PersonHeader): the session was replaced meanwhile, by a sign-in
// in another tab of the same browser. Without a session the route answers
// as it would; without the header (another client) nothing is checked.
func samePerson(r *http.Request) error {
	want := r.Header.Get(client.PersonHeader)
	if want == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	if id, ok := portal.PractitionerFrom(r.Context()); ok {
		if id != want {
			return portal.Errorf(portal.ErrSessionChanged, "write for %q, session of another practitioner", want)
		}
		return nil
	}
	if s, ok := portal.SubjectFrom(r.Context()); ok && s.Patient != want {
		return portal.Errorf(portal.ErrSessionChanged, "write for %q, session of another patient", want)
	}
	return nil
}

// withSubject puts the session's person, if any, in the request context: a
// patient, or a practitioner signed in to a care-team view.
// An error is the State being unreachable: the request must be refused.
func (h *Host) withSubject(r *http.Request) (*http.Request, error) {
	r = h.withAddress(r)
	s, ok, err := h.sessions.subject(r.Context(), sessionToken(r, h.secure(r)), true)
	if err != nil {
		return r, err
	}
	if ok {
		return r.WithContext(portal.WithSubject(r.Context(), s)), nil
	}
	return r, nil
}

// establishment returns the path's establishment if this host serves it.
func (h *Host) establishment(r *http.Request) (string, error) {
	id := r.PathValue("establishment")
	if !h.serves(id) {
		return "", portal.Errorf(portal.ErrNotFound, "establishment %q", id)
	}
	return id, nil
}

func (h *Host) serves(id string) bool {
	_, ok := h.origins[id]
	return ok
}

// listEstablishments answers the establishments the host serves, in its
// configuration's order: what a widget without an establishment offers to
// choose from. Those whose backend does not answer are named in
// "unavailable" (and left out of the list).
func (h *Host) listEstablishments(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r.URL.Query()); err != nil {
		return err
	}
	ests, err := h.establishments(r.Context())
	if ests == nil {
		ests = []portal.Establishment{}
	}
	writeJSON(w, 200, client.EstablishmentList{Establishments: ests, Unavailable: portal.Missing(err)})
	return nil
}

// establishments asks the backend for every establishment served, at once;
// those that fail are left out and named by a *portal.PartialError.
func (h *Host) establishments(ctx context.Context) ([]portal.Establishment, error) {
	ests := make([]portal.Establishment, len(h.cfg.Establishments))
	errs := make([]error, len(h.cfg.Establishments))
	var wg sync.WaitGroup
	for i, e := range h.cfg.Establishments {
		wg.Go(func() { ests[i], errs[i] = h.cfg.Booking.Establishment(ctx, e.ID) })
	}
	wg.Wait()
	var (
		out     []portal.Establishment
		partial *portal.PartialError
	)
	for i, e := range h.cfg.Establishments {
		if errs[i] == nil {
			out = append(out, ests[i])
			continue
		}
		h.log.WarnContext(ctx, "establishments: one left out", "establishment", e.ID, "err", errs[i])
		if partial == nil {
			partial = &portal.PartialError{Err: errs[i]}
		}
		partial.Establishments = append(partial.Establishments, e.ID)
	}
	if partial != nil {
		return out, partial
	}
	return out, nil
}

func (h *Host) getEstablishment(w http.ResponseWriter, r *http.Request) error {
	id, err := h.establishment(r)
	if err != nil {
		return err
	}
	est, err := h.cfg.Booking.Establishment(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, est)
	return nil
}

func (h *Host) listServices(w http.ResponseWriter, r *http.Request) error {
	id, err := h.establishment(r)
	if err != nil {
		return err
	}
	services, err := h.cfg.Booking.Services(r.Context(), id)
	if err != nil {
		return err
	}
	if services == nil {
		services = []portal.Service{}
	}
	writeJSON(w, 200, map[string]any{"services": services})
	return nil
}

// DefaultSlotDays is the period of a free-slot search without "to".
const DefaultSlotDays = 14

// parseSlotQuery reads a free-slot search from a query string.
func parseSlotQuery(establishment string, v url.Values, now time.Time) (portal.SlotQuery, error) {
	q := portal.SlotQuery{
		Establishment: establishment,
		Service:       v.Get("service"),
		Practitioner:  v.Get("practitioner"),
	}
	for k, vs := range v {
		switch k {
		case "service", "practitioner", "from", "to", "lang":
			if len(vs) > 1 {
				return q, portal.Errorf(portal.ErrInvalid, "%s is given more than once", k)
			}
		default:
			return q, portal.Errorf(portal.ErrInvalid, "unknown parameter %q", k)
		}
	}
	var err error
	q.From = now
	if s := v.Get("from"); s != "" {
		if q.From, err = time.Parse(time.RFC3339, s); err != nil {
			return q, portal.Errorf(portal.ErrInvalid, "from is not an RFC 3339 time")
		}
	}
	q.To = q.From.AddDate(0, 0, DefaultSlotDays)
	if s := v.Get("to"); s != "" {
		if q.To, err = time.Parse(time.RFC3339, s); err != nil {
			return q, portal.Errorf(portal.ErrInvalid, "to is not an RFC 3339 time")
		}
	}
	return q, q.Validate()
}

func (h *Host) listFreeSlots(w http.ResponseWriter, r *http.Request) error {
	id, err := h.establishment(r)
	if err != nil {
		return err
	}
	q, err := parseSlotQuery(id, r.URL.Query(), h.cfg.Now())
	if err != nil {
		return err
	}
	slots, err := h.cfg.Booking.FreeSlots(r.Context(), q)
	if err != nil {
		return err
	}
	if slots == nil {
		slots = []portal.Slot{}
	}
	writeJSON(w, 200, map[string]any{"slots": slots})
	return nil
}

func (h *Host) bookAppointment(w http.ResponseWriter, r *http.Request) error {
	id, err := h.establishment(r)
	if err != nil {
		return err
	}
	if _, err := portal.RequirePatient(r.Context()); err != nil {
		return err
	}
	key := r.Header.Get("Idempotency-Key")
	if err := portal.ValidateIdempotencyKey(key); err != nil {
		return err
	}
	body, err := decodeJSON[client.BookBody](r, h.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	apt, err := h.book(r.Context(), portal.BookRequest{Establishment: id, Service: body.Service, Slot: body.Slot, IdempotencyKey: key})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/appointments/"+url.PathEscape(apt.ID))
	writeJSON(w, http.StatusCreated, apt)
	return nil
}

// book books for the context's patient, with the plugins' rules: the API and
// the widget's form posts both come here. before_booking may refuse (nothing
// is booked); after_booking is queued to run in the background. A retry of a
// booking already made runs neither.
func (h *Host) book(ctx context.Context, req portal.BookRequest) (portal.Appointment, error) {
	if patient, err := portal.RequirePatient(ctx); err == nil {
		if err := h.bookRate.spend(ctx, patient, "patient %s made %d bookings in the last hour", patient, h.cfg.BookingsPerHour); err != nil {
			return portal.Appointment{}, err
		}
		if err := h.spendAddress(ctx); err != nil {
			return portal.Appointment{}, err
		}
	}
	if err := h.checkFutureAppointments(ctx, req); err != nil {
		return portal.Appointment{}, err
	}
	plugins, replay := h.cfg.Plugins, false
	if plugins != nil && (plugins.Has(plugin.HookBeforeBooking) || plugins.Has(plugin.HookAfterBooking)) {
		before := plugins.Has(plugin.HookBeforeBooking)
		in, isReplay, err := plugin.BookingInput(ctx, h.cfg.Booking, req, h.cfg.Now(), before)
		if err != nil {
			return portal.Appointment{}, err
		}
		replay = isReplay
		if before && !replay {
			if err := plugins.BeforeBooking(ctx, in); err != nil {
				return portal.Appointment{}, err
			}
		}
	}
	apt, err := h.cfg.Booking.Book(ctx, req)
	if err != nil {
		return apt, err
	}
	h.log.Info("appointment booked", "appointment", apt.ID, "establishment", apt.Establishment)
	if plugins != nil && !replay && plugins.Has(plugin.HookAfterBooking) {
		plugins.AfterBooking(context.WithoutCancel(ctx), plugin.AfterBooking{
			Appointment: apt.ID, Establishment: apt.Establishment, Service: apt.Service, Start: apt.Start,
		})
	}
	return apt, nil
}

// checkFutureAppointments refuses a booking beyond
// Config.MaxFutureAppointments appointments to come; a retry of a booking
// already made (its slot is among them) passes, so that its answer is the
// appointment, as idempotency promises.
func (h *Host) checkFutureAppointments(ctx context.Context, req portal.BookRequest) error {
	list, err := h.cfg.Booking.Appointments(ctx)
	if err != nil && portal.Missing(err) == nil {
		return err
	}
	now, n := h.cfg.Now(), 0
	for _, a := range list {
		if a.Status != portal.StatusBooked || !a.Start.After(now) {
			continue
		}
		if a.Slot == req.Slot {
			return nil
		}
		n++
	}
	if n >= h.cfg.MaxFutureAppointments {
		return portal.Errorf(portal.ErrBookingRefused, "at most %d appointments to come per patient", h.cfg.MaxFutureAppointments)
	}
	return nil
}

// listAppointments answers the patient's appointments. Behind several
// establishments (host/backend/multi), those whose backend did not answer
// are named in "unavailable" beside the others' appointments: one outage
// degrades only its part.
func (h *Host) listAppointments(w http.ResponseWriter, r *http.Request) error {
	list, err := h.cfg.Booking.Appointments(r.Context())
	missing := portal.Missing(err)
	if err != nil && missing == nil {
		return err
	}
	if missing != nil {
		h.log.WarnContext(r.Context(), "appointments: establishments left out", "establishments", missing, "err", err)
	}
	if list == nil {
		list = []portal.Appointment{}
	}
	writeJSON(w, 200, client.AppointmentList{Appointments: list, Unavailable: missing})
	return nil
}

func (h *Host) getAppointment(w http.ResponseWriter, r *http.Request) error {
	apt, err := h.cfg.Booking.Appointment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, apt)
	return nil
}

func (h *Host) cancelAppointment(w http.ResponseWriter, r *http.Request) error {
	if _, err := portal.RequirePatient(r.Context()); err != nil {
		return err
	}
	// The body is optional and, when present, must be an empty JSON object.
	if r.ContentLength != 0 {
		if _, err := decodeJSON[struct{}](r, h.cfg.MaxBodyBytes); err != nil {
			return err
		}
	}
	apt, err := h.cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, 200, apt)
	return nil
}

// cancel cancels one of the context's patient's appointments; after_cancel
// runs once, on the cancellation that changed something.
func (h *Host) cancel(ctx context.Context, id string) (portal.Appointment, error) {
	plugins, wasBooked := h.cfg.Plugins, false
	if plugins != nil && plugins.Has(plugin.HookAfterCancel) {
		prev, err := h.cfg.Booking.Appointment(ctx, id)
		if err != nil {
			return portal.Appointment{}, err
		}
		wasBooked = prev.Status == portal.StatusBooked
	}
	apt, err := h.cfg.Booking.Cancel(ctx, id)
	if err != nil {
		return apt, err
	}
	h.log.Info("appointment cancelled", "appointment", apt.ID, "establishment", apt.Establishment)
	if wasBooked && apt.Status == portal.StatusCancelled {
		plugins.AfterCancel(context.WithoutCancel(ctx), plugin.AfterCancel{
			Appointment: apt.ID, Establishment: apt.Establishment, Service: apt.Service, Start: apt.Start,
		})
	}
	return apt, nil
}

func (h *Host) getAppointmentCalendar(w http.ResponseWriter, r *http.Request) error {
	apt, err := h.cfg.Booking.Appointment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	est, err := h.cfg.Booking.Establishment(r.Context(), apt.Establishment)
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/calendar; charset=utf-8")
	hd.Set("Content-Disposition", `attachment; filename="rendez-vous.ics"`)
	w.Write(ICS(apt, est, requestLang(r), h.cfg.Now()))
	return nil
}

func (h *Host) getSession(w http.ResponseWriter, r *http.Request) error {
	if id, ok := portal.PractitionerFrom(r.Context()); ok {
		p, err := h.currentPractitioner(r.Context(), id)
		if err != nil {
			return err
		}
		writeJSON(w, 200, client.SessionBody{Practitioner: p})
		return nil
	}
	s, _ := portal.SubjectFrom(r.Context())
	p, err := h.currentPatient(r.Context(), s.Patient)
	if err != nil {
		return err
	}
	writeJSON(w, 200, client.SessionBody{Patient: p})
	return nil
}

// currentPatient returns the session's patient, or nil when there is none
// or the directory no longer knows it.
func (h *Host) currentPatient(ctx context.Context, id string) (*portal.Patient, error) {
	if id == "" {
		return nil, nil
	}
	p, err := h.cfg.Directory.Patient(ctx, id)
	if portal.IsCode(err, portal.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (h *Host) deleteSession(w http.ResponseWriter, r *http.Request) error {
	if err := h.signOut(w, r); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// signOut ends the request's session on the server and clears its cookie.
func (h *Host) signOut(w http.ResponseWriter, r *http.Request) error {
	secure := h.secure(r)
	if t := sessionToken(r, secure); t != "" {
		if err := h.sessions.delete(r.Context(), t); err != nil {
			return err
		}
	}
	setSessionCookie(w, secure, "", 0)
	return nil
}

func (h *Host) listDemoPatients(w http.ResponseWriter, r *http.Request) error {
	if !h.cfg.DemoSignIn {
		return portal.Errorf(portal.ErrNotFound, "the demo sign-in is off")
	}
	list, err := h.cfg.Directory.DemoPatients(r.Context())
	if err != nil {
		return err
	}
	if list == nil {
		list = []portal.Patient{}
	}
	writeJSON(w, 200, map[string]any{"patients": list})
	return nil
}

// createDemoSession signs in as a fictional demo patient. Only patients the
// backend lists as demo patients are accepted.
func (h *Host) createDemoSession(w http.ResponseWriter, r *http.Request) error {
	if !h.cfg.DemoSignIn {
		return portal.Errorf(portal.ErrNotFound, "the demo sign-in is off")
	}
	body, err := decodeJSON[client.DemoSignInBody](r, h.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	p, err := h.demoSignIn(r.Context(), w, r, body.Patient)
	if err != nil {
		return err
	}
	writeJSON(w, 200, client.SessionBody{Patient: &p})
	return nil
}

// demoSignIn opens a new session as a demo patient (only patients the
// backend lists as demo patients) and sets its cookie; the request's
// previous session ends.
func (h *Host) demoSignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, patient string) (portal.Patient, error) {
	if !h.cfg.DemoSignIn {
		return portal.Patient{}, portal.Errorf(portal.ErrNotFound, "the demo sign-in is off")
	}
	list, err := h.cfg.Directory.DemoPatients(ctx)
	if err != nil {
		return portal.Patient{}, err
	}
	for _, p := range list {
		if p.ID == patient {
			if err := h.startSession(w, r, portal.AuthorPatient, p.ID); err != nil {
				return portal.Patient{}, err
			}
			h.log.Info("demo sign-in", "patient", p.ID)
			return p, nil
		}
	}
	return portal.Patient{}, portal.Errorf(portal.ErrInvalid, "%q is not a demo patient", patient)
}
