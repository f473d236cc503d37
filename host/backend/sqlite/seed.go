package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/questionnaire/instruments"
)

// Demo data loaded by Seed. Every name is fictional.
const (
	// DemoEstablishment is the id of the demo establishment, "CHU Exemple".
	DemoEstablishment = "chu-exemple"
	// DemoTimeZone is the demo establishment's time zone.
	DemoTimeZone = "Europe/Paris"

	// Services of the demo establishment, in display order.
	ServiceMaternite     = "maternite"
	ServiceDiabetologie  = "diabetologie"
	ServiceConsultations = "consultations"

	// Questionnaires of the demo establishment: the instruments Parcours
	// ships (sdk/questionnaire/instruments), under their own ids.
	DemoQuestionnaireMaternite = "maternite-inscription" // maternity registration, service maternite
	DemoQuestionnaireEPDS      = "epds"                  // postnatal depression, service maternite
	DemoQuestionnairePHQ9      = "phq-9"                 // depression, service consultations
	DemoQuestionnaireGAD7      = "gad-7"                 // anxiety, service consultations

	// Demo patients, flagged demo (see Store.DemoPatients).
	DemoPatientCamilleDurand = "pat-camille-durand"
	DemoPatientLucasBernard  = "pat-lucas-bernard"
	DemoPatientInesMoreau    = "pat-ines-moreau"

	// Demo practitioners one may sign in as to the care-team inbox (every
	// seeded practitioner is one): a midwife of the maternity and the
	// diabetes education nurse, who answered the demo threads.
	DemoPractitionerClaireMartin     = "pr-claire-martin"
	DemoPractitionerNathalieFournier = "pr-nathalie-fournier"

	// DemoPractitionerPaulMercier is a city general practitioner, of no
	// service of the demo establishment: he sees a patient's documents only
	// once the patient grants him access, finding him by his RPPS number
	// DemoRPPSPaulMercier (fictional, well formed).
	DemoPractitionerPaulMercier = "pr-paul-mercier"
	DemoRPPSPaulMercier         = "10000009992"

	// Demo message threads: Camille Durand's with the maternity, Lucas
	// Bernard's with diabetology.
	DemoThreadMaternite    = "thr-demo-maternite"
	DemoThreadDiabetologie = "thr-demo-diabetologie"
)

// Demo schedule: SeedDays days from the seed date, Monday to Friday, slots of
// SlotLength from 09:00 to 12:00 and from 14:00 to 17:00 local time, for every
// practitioner of every demo service.
const (
	SeedDays   = 14
	SlotLength = 30 * time.Minute
)

type demoPractitioner struct {
	id, name, roleFR, roleEN string
	rpps                     string // fictional, well formed (portal.ValidRPPS)
}

type demoService struct {
	id, nameFR, nameEN string
	practitioners      []demoPractitioner
	responseTime       portal.Text
}

// demoObstetrician is the maternity's obstetrician-gynaecologist, whom the
// next steps of the higher pregnancy-risk levels book with.
const demoObstetrician = "pr-antoine-girard"

var demoServices = []demoService{
	{ServiceMaternite, "Maternité", "Maternity", []demoPractitioner{
		{DemoPractitionerClaireMartin, "Claire Martin", "Sage-femme", "Midwife", "10000001114"},
		{"pr-sophie-lefebvre", "Sophie Lefebvre", "Sage-femme", "Midwife", "10000002229"},
		{demoObstetrician, "Antoine Girard", "Gynécologue-obstétricien", "Obstetrician-gynaecologist", "10000003334"},
	}, portal.Text{FR: "Réponse sous 2 jours ouvrés", EN: "Answer within 2 working days"}},
	{ServiceDiabetologie, "Diabétologie", "Diabetology", []demoPractitioner{
		{"pr-julien-roux", "Julien Roux", "Diabétologue", "Diabetologist", "10000004449"},
		{DemoPractitionerNathalieFournier, "Nathalie Fournier", "Infirmière en éducation thérapeutique", "Diabetes education nurse", "10000005552"},
	}, portal.Text{FR: "Réponse sous 3 jours ouvrés", EN: "Answer within 3 working days"}},
	{ServiceConsultations, "Consultations externes", "Outpatient consultations", []demoPractitioner{
		{"pr-marc-lambert", "Marc Lambert", "Médecin généraliste", "General practitioner", "10000006667"},
		{"pr-helene-faure", "Hélène Faure", "Médecin généraliste", "General practitioner", "10000007772"},
	}, portal.Text{}},
}

// demoCityPractitioners are practitioners of no service: professionals
// outside the establishment a patient may grant access to.
var demoCityPractitioners = []demoPractitioner{
	{DemoPractitionerPaulMercier, "Paul Mercier", "Médecin généraliste (cabinet de ville)", "General practitioner (city practice)", DemoRPPSPaulMercier},
}

// seedPractitioner inserts or refreshes a demo practitioner.
func seedPractitioner(ctx context.Context, tx *sql.Tx, p demoPractitioner) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO practitioners (id, name, role_fr, role_en, rpps, demo) VALUES (?, ?, ?, ?, ?, 1)
		ON CONFLICT (id) DO UPDATE
		SET name = excluded.name, role_fr = excluded.role_fr, role_en = excluded.role_en, rpps = excluded.rpps, demo = 1`,
		p.id, p.name, p.roleFR, p.roleEN, p.rpps)
	return err
}

var demoPatients = []struct {
	id, given, family, email string
}{
	{DemoPatientCamilleDurand, "Camille", "Durand", "camille.durand@example.test"},
	{DemoPatientLucasBernard, "Lucas", "Bernard", "lucas.bernard@example.test"},
	{DemoPatientInesMoreau, "Inès", "Moreau", "ines.moreau@example.test"},
}

// demoServiceEmail is the team address of a demo service, for messaging
// notifications: on example.org, a domain reserved for documentation
// (RFC 2606), so that a demo never mails anyone.
func demoServiceEmail(service string) string {
	return service + "@chu-exemple.example.org"
}

// demoUrgentHelp is the demo establishment's urgent-help text: the national
// emergency and suicide-prevention numbers.
var demoUrgentHelp = portal.Text{
	FR: "En cas d'urgence, appelez le 15 (SAMU) ou le 112. Si vous avez des idées suicidaires, " +
		"appelez le 3114, numéro national de prévention du suicide, 24 h/24 et 7 j/7.",
	EN: "In an emergency, call 15 (SAMU, emergency medical service) or 112. If you have suicidal thoughts, " +
		"call 3114, the French national suicide prevention line, 24 hours a day, 7 days a week.",
}

// demoQuestionnaire places a shipped instrument in a demo service, with the
// next steps its result page offers.
type demoQuestionnaire struct {
	id, service string
	steps       []portal.NextStep
}

// demoQuestionnaires are the demo establishment's questionnaires. The
// registration's steps follow its pregnancy-risk levels (HAS 2016: A standard
// follow-up, A1 and A2 specialist advice recommended or needed, B follow-up by
// an obstetrician); the other instruments offer one step whatever the level,
// their result texts saying the rest.
var demoQuestionnaires = []demoQuestionnaire{
	{DemoQuestionnaireMaternite, ServiceMaternite, []portal.NextStep{
		{Level: "A", Service: ServiceMaternite, Text: portal.Text{
			FR: "Prenez rendez-vous pour votre première consultation de suivi de grossesse.",
			EN: "Book your first pregnancy follow-up consultation.",
		}},
		{Level: "A1", Service: ServiceMaternite, Text: portal.Text{
			FR: "Prenez rendez-vous pour votre première consultation avec une sage-femme de la maternité, " +
				"qui vous conseillera sur l'avis spécialisé à demander.",
			EN: "Book your first consultation with a midwife of the maternity, " +
				"who will advise you on the specialist opinion to seek.",
		}},
		{Level: "A2", Service: ServiceMaternite, Practitioner: demoObstetrician, Text: portal.Text{
			FR: "Prenez rendez-vous pour votre première consultation avec un gynécologue-obstétricien de la maternité, " +
				"qui vous donnera l'avis spécialisé nécessaire.",
			EN: "Book your first consultation with an obstetrician-gynaecologist of the maternity, " +
				"who will give you the specialist advice you need.",
		}},
		{Level: "B", Service: ServiceMaternite, Practitioner: demoObstetrician, Text: portal.Text{
			FR: "Prenez rendez-vous pour une consultation avec un gynécologue-obstétricien de la maternité.",
			EN: "Book a consultation with an obstetrician-gynaecologist of the maternity.",
		}},
	}},
	{DemoQuestionnaireEPDS, ServiceMaternite, []portal.NextStep{
		{Service: ServiceMaternite, Text: portal.Text{
			FR: "Si vous le souhaitez, prenez rendez-vous à la maternité pour parler de vos réponses avec une sage-femme ou un médecin.",
			EN: "If you wish, book an appointment at the maternity to talk about your answers with a midwife or a doctor.",
		}},
	}},
	{DemoQuestionnairePHQ9, ServiceConsultations, []portal.NextStep{consultationStep}},
	{DemoQuestionnaireGAD7, ServiceConsultations, []portal.NextStep{consultationStep}},
}

// consultationStep is the next step of the questionnaires of the
// consultations service.
var consultationStep = portal.NextStep{Service: ServiceConsultations, Text: portal.Text{
	FR: "Si vous le souhaitez, prenez rendez-vous en consultation pour parler de vos réponses avec un médecin.",
	EN: "If you wish, book a consultation to talk about your answers with a doctor.",
}}

// demoQuestionnaireDefs returns the definitions of demoQuestionnaires, with
// the shipped instruments' JSON and titles.
func demoQuestionnaireDefs() ([]portal.QuestionnaireDef, error) {
	defs := make([]portal.QuestionnaireDef, 0, len(demoQuestionnaires))
	for _, dq := range demoQuestionnaires {
		resource, ok := instruments.JSON(dq.id)
		if !ok {
			return nil, fmt.Errorf("no shipped questionnaire %q", dq.id)
		}
		q, err := instruments.Lookup(dq.id)
		if err != nil {
			return nil, err
		}
		defs = append(defs, portal.QuestionnaireDef{
			ID:            dq.id,
			Establishment: DemoEstablishment,
			Service:       dq.service,
			Title:         portal.Text{FR: q.Title.In("fr"), EN: q.Title.In("en")},
			Resource:      resource,
			NextSteps:     dq.steps,
		})
	}
	return defs, nil
}

// demoPeriods are the daily opening hours, local time, as [start, end) hours.
var demoPeriods = [][2]int{{9, 12}, {14, 17}}

// Seed loads the fictional demo data: the establishment DemoEstablishment
// with its urgent-help text, its three services and their practitioners
// (every one a demo practitioner, see Store.DemoPractitioners), the demo
// patients, the free slots of the SeedDays days starting on now's date in
// DemoTimeZone, the four shipped questionnaires (DemoQuestionnaire…) with
// their next steps, and two message threads (DemoThreadMaternite,
// DemoThreadDiabetologie), each a patient's question and the care team's
// answer, which the patient has not read yet, and the demo documents and
// results (see seedDocuments: real PDF reports and an image, a year of lab
// results, and one result held back until a practitioner releases it,
// DemoDocumentBiopsy). Each demo patient and service
// gets a notification address on example.test or example.org (reserved
// domains: a demo never mails anyone), unless it has one already. The demo
// identity provider's accounts (host/demoid) are linked to their
// patients and practitioners, and each demo patient gets its INS, qualified
// (see seedAccounts).
//
// Seed is idempotent and runs in one transaction. Seeding again never
// duplicates anything and puts the establishment and questionnaire
// definitions back as shipped, keeping drafts, submissions, the demo
// threads and documents as they are now (replies, releases and openings
// included); seeding on a later day adds
// the days that came into range. Slot ids are deterministic, "sl-<practitioner>-<YYYYMMDDTHHMM>" in
// local time, so existing slots and their bookings are kept as they are. Slots
// already in the past when seeded are stored but never offered.
func (s *Store) Seed(ctx context.Context, now time.Time) error {
	loc, err := s.location(DemoTimeZone)
	if err != nil {
		return dbError(ctx, "seed", err)
	}
	questionnaires, err := demoQuestionnaireDefs()
	if err != nil {
		return dbError(ctx, "seed", err)
	}
	return s.write(ctx, "seed", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO establishments (id, name, time_zone, urgent_help_fr, urgent_help_en) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone,
				urgent_help_fr = excluded.urgent_help_fr, urgent_help_en = excluded.urgent_help_en`,
			DemoEstablishment, "CHU Exemple", DemoTimeZone, demoUrgentHelp.FR, demoUrgentHelp.EN); err != nil {
			return err
		}
		for i, sv := range demoServices {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO services (establishment, id, name_fr, name_en, position, response_time_fr, response_time_en)
				VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (establishment, id) DO UPDATE
				SET name_fr = excluded.name_fr, name_en = excluded.name_en, position = excluded.position,
					response_time_fr = excluded.response_time_fr, response_time_en = excluded.response_time_en`,
				DemoEstablishment, sv.id, sv.nameFR, sv.nameEN, i+1, sv.responseTime.FR, sv.responseTime.EN); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO service_contacts (establishment, service, email) VALUES (?, ?, ?)
				ON CONFLICT (establishment, service) DO NOTHING`,
				DemoEstablishment, sv.id, demoServiceEmail(sv.id)); err != nil {
				return err
			}
			for _, p := range sv.practitioners {
				if err := seedPractitioner(ctx, tx, p); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `
					INSERT OR IGNORE INTO service_practitioners (establishment, service, practitioner) VALUES (?, ?, ?)`,
					DemoEstablishment, sv.id, p.id); err != nil {
					return err
				}
			}
		}
		for _, p := range demoCityPractitioners {
			if err := seedPractitioner(ctx, tx, p); err != nil {
				return err
			}
		}
		for _, p := range demoPatients {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO patients (id, given_name, family_name, demo) VALUES (?, ?, ?, 1)
				ON CONFLICT (id) DO UPDATE
				SET given_name = excluded.given_name, family_name = excluded.family_name, demo = 1`,
				p.id, p.given, p.family); err != nil {
				return err
			}
			// Seeding again keeps an address someone changed.
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO patient_contacts (patient, email) VALUES (?, ?) ON CONFLICT (patient) DO NOTHING`,
				p.id, p.email); err != nil {
				return err
			}
		}
		if err := seedAccounts(ctx, tx); err != nil {
			return err
		}
		for _, d := range questionnaires {
			if err := validateDef(d); err != nil {
				return err
			}
			if err := putQuestionnaire(ctx, tx, d); err != nil {
				return err
			}
		}
		if err := seedThreads(ctx, tx, now); err != nil {
			return err
		}
		if err := seedDocuments(ctx, tx, now, loc); err != nil {
			return err
		}
		// Slots go in by batches of seedBatch rows: one statement per row
		// would make seeding ten times slower.
		slots := demoSlots(now, loc)
		for len(slots) > 0 {
			n := min(len(slots), seedBatch)
			if err := insertSlots(ctx, tx, slots[:n]); err != nil {
				return err
			}
			slots = slots[n:]
		}
		return nil
	})
}

// seedBatch is the number of slots inserted by one statement, well within
// SQLite's limit of 32766 bound parameters.
const seedBatch = 200

// insertSlots inserts slots unless they exist.
func insertSlots(ctx context.Context, tx *sql.Tx, slots []seedSlot) error {
	var q strings.Builder
	q.WriteString(`INSERT OR IGNORE INTO slots (id, establishment, service, practitioner, start_utc, end_utc) VALUES `)
	args := make([]any, 0, 6*len(slots))
	for i, sl := range slots {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?)")
		args = append(args, sl.id, DemoEstablishment, sl.service, sl.practitioner, sl.start.Unix(), sl.end.Unix())
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

type seedSlot struct {
	id, service, practitioner string
	start, end                time.Time
}

// demoSlots returns the demo schedule of the SeedDays days from now's date
// in loc.
func demoSlots(now time.Time, loc *time.Location) []seedSlot {
	y, m, d := now.In(loc).Date()
	var out []seedSlot
	for day := range SeedDays {
		date := time.Date(y, m, d+day, 0, 0, 0, 0, loc)
		if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for _, sv := range demoServices {
			for _, p := range sv.practitioners {
				for _, period := range demoPeriods {
					open := time.Date(date.Year(), date.Month(), date.Day(), period[0], 0, 0, 0, loc)
					closing := time.Date(date.Year(), date.Month(), date.Day(), period[1], 0, 0, 0, loc)
					for start := open; start.Before(closing); start = start.Add(SlotLength) {
						out = append(out, seedSlot{
							id:           slotID(p.id, start),
							service:      sv.id,
							practitioner: p.id,
							start:        start,
							end:          start.Add(SlotLength),
						})
					}
				}
			}
		}
	}
	return out
}

// slotID is the deterministic id of a demo slot: "sl-", the practitioner's id
// without its "pr-" prefix, and the local start time. A practitioner holds at
// most one slot at a time, so the id is unique.
func slotID(practitioner string, start time.Time) string {
	return fmt.Sprintf("sl-%s-%s", strings.TrimPrefix(practitioner, "pr-"), start.Format("20060102T1504"))
}

// demoThread is a seeded conversation: a patient's question and the care
// team's answer.
type demoThread struct {
	id, service, patient, subject string
	question                      string
	practitioner, answer          string
}

var demoThreads = []demoThread{
	{
		id: DemoThreadMaternite, service: ServiceMaternite, patient: DemoPatientCamilleDurand,
		subject: "Nausées au premier trimestre",
		question: "Bonjour, je suis enceinte de 10 semaines et j'ai des nausées tous les matins. " +
			"Y a-t-il quelque chose que je puisse faire en attendant mon prochain rendez-vous ?",
		practitioner: DemoPractitionerClaireMartin,
		answer: "Bonjour Madame Durand, les nausées sont fréquentes au premier trimestre. Fractionnez vos repas, " +
			"buvez par petites quantités tout au long de la journée et reposez-vous. Si vous vomissez plusieurs fois " +
			"par jour ou ne gardez rien, appelez la maternité. Nous en reparlerons lors de votre consultation.",
	},
	{
		id: DemoThreadDiabetologie, service: ServiceDiabetologie, patient: DemoPatientLucasBernard,
		subject: "Glycémies élevées le matin",
		question: "Bonjour, depuis une semaine ma glycémie à jeun est autour de 1,60 g/L. " +
			"Dois-je modifier ma dose d'insuline du soir ?",
		practitioner: DemoPractitionerNathalieFournier,
		answer: "Bonjour Monsieur Bernard, merci pour ces relevés. Ne modifiez pas votre dose seul : notez vos " +
			"glycémies trois jours de suite (matin, midi et soir) et envoyez-les-nous ici. Le Dr Roux les regardera.",
	},
}

// seedThreads inserts the demo threads unless they exist. The question was
// written two days before now and read by the practitioner, who answered a
// day before now; the patient has not read the answer. Seeded messages
// raise no notification: nobody is waiting for them.
func seedThreads(ctx context.Context, tx *sql.Tx, now time.Time) error {
	asked := now.Add(-48 * time.Hour).Unix()
	answered := now.Add(-24 * time.Hour).Unix()
	for _, t := range demoThreads {
		var patient portal.Patient
		if err := tx.QueryRowContext(ctx, `SELECT given_name, family_name FROM patients WHERE id = ?`, t.patient).
			Scan(&patient.GivenName, &patient.FamilyName); err != nil {
			return err
		}
		var practitioner string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM practitioners WHERE id = ?`, t.practitioner).
			Scan(&practitioner); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO threads (id, establishment, service, patient, subject, status, assigned_to,
				created_utc, updated_utc, last_message_utc)
			VALUES (?, ?, ?, ?, ?, 'answered', ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			t.id, DemoEstablishment, t.service, t.patient, t.subject, t.practitioner, asked, answered, answered)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			continue // seeded before: the thread may have moved on since
		}
		question, answer := t.id+"-1", t.id+"-2"
		for _, msg := range []struct {
			id, kind, author, name, body string
			created                      int64
		}{
			{question, "patient", t.patient, patient.DisplayName(), t.question, asked},
			{answer, "practitioner", t.practitioner, practitioner, t.answer, answered},
		} {
			// The client id and request digest of a seeded message are
			// its id: no device will ever retry it.
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO messages (id, thread, author_kind, author_id, author_name, client_id, request_hash, body, created_utc)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				msg.id, t.id, msg.kind, msg.author, msg.name, "seed-"+msg.id, "seed-"+msg.id, msg.body, msg.created); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO message_reads (message, reader_kind, reader_id, reader_name, read_utc)
			VALUES (?, 'practitioner', ?, ?, ?)`,
			question, t.practitioner, practitioner, answered-5*60); err != nil {
			return err
		}
	}
	return nil
}
