package multi_test

import (
	"testing"
	"time"

	"github.com/parcours-sante/parcours/host/backend/multi"
	"github.com/parcours-sante/parcours/host/backend/sqlite"
	"github.com/parcours-sante/parcours/sdk/portal"
	"github.com/parcours-sante/parcours/sdk/portaltest"
)

// TestQuestionnaireConformance: behind the router (with a second
// establishment on another store), the SQLite questionnaires pass the
// questionnaires suite; a submission is found whichever backend holds it.
func TestQuestionnaireConformance(t *testing.T) {
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	portaltest.RunQuestionnaireTests(t, func(t *testing.T) portaltest.QuestionnaireFixture {
		clock := portaltest.NewClock(start)
		s := seeded(t, clock)
		other := seeded(t, clock)
		q, err := multi.NewQuestionnaires([]multi.QuestionnairesEstablishment{
			{ID: "ch-nord", Questionnaires: other},
			{ID: sqlite.DemoEstablishment, Questionnaires: s},
		}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return portaltest.QuestionnaireFixture{
			As:                 func(t *testing.T, p string) portal.Questionnaires { return portaltest.AsPatientQuestionnaires(q, p) },
			Anonymous:          q,
			CareTeam:           q,
			Establishment:      sqlite.DemoEstablishment,
			Questionnaire:      sqlite.DemoQuestionnaireMaternite,
			OtherQuestionnaire: sqlite.DemoQuestionnairePHQ9,
			Patients:           []string{sqlite.DemoPatientCamilleDurand, sqlite.DemoPatientLucasBernard},
			SetNow:             clock.Set,
			Now:                clock.Now,
		}
	})
}
