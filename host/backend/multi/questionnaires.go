package multi

import (
	"context"
	"fmt"
	"time"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// QuestionnairesEstablishment is one establishment's questionnaires
// backend.
type QuestionnairesEstablishment struct {
	ID             string
	Questionnaires portal.Questionnaires
}

// Questionnaires routes portal.Questionnaires by establishment. A
// submission's id is chosen by the patient's browser (random), so
// Submission asks each establishment's backend in turn for it.
type Questionnaires struct {
	byID  map[string]portal.Questionnaires
	order []string
	calls bounds
}

var _ portal.Questionnaires = (*Questionnaires)(nil)

// NewQuestionnaires returns the router over ests (ids as New requires),
// each call bounded by callTimeout (0: DefaultCallTimeout).
func NewQuestionnaires(ests []QuestionnairesEstablishment, callTimeout time.Duration) (*Questionnaires, error) {
	q := &Questionnaires{byID: map[string]portal.Questionnaires{}, calls: newBounds(callTimeout)}
	for _, e := range ests {
		if err := checkEntry(e.ID, q.byID[e.ID] != nil, e.Questionnaires != nil, "questionnaires "); err != nil {
			return nil, err
		}
		q.byID[e.ID] = e.Questionnaires
		q.order = append(q.order, e.ID)
	}
	if len(q.order) == 0 {
		return nil, fmt.Errorf("multi: no establishment")
	}
	return q, nil
}

// route returns est's backend; a request without an establishment goes to
// the first one, which refuses it as the backends do (unauthenticated
// before invalid).
func (q *Questionnaires) route(est string) (portal.Questionnaires, error) {
	if est == "" {
		return q.byID[q.order[0]], nil
	}
	if b := q.byID[est]; b != nil {
		return b, nil
	}
	return nil, portal.Errorf(portal.ErrNotFound, "establishment %q", est)
}

// Questionnaire implements portal.Questionnaires.
func (q *Questionnaires) Questionnaire(ctx context.Context, est, id string) (portal.QuestionnaireDef, error) {
	b, err := q.route(est)
	if err != nil {
		return portal.QuestionnaireDef{}, err
	}
	ctx, done := q.calls.start(ctx)
	def, err := b.Questionnaire(ctx, est, id)
	return def, done(est, err)
}

// Draft implements portal.Questionnaires.
func (q *Questionnaires) Draft(ctx context.Context, est, questionnaire string) (portal.QuestionnaireDraft, error) {
	b, err := q.route(est)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	ctx, done := q.calls.start(ctx)
	d, err := b.Draft(ctx, est, questionnaire)
	return d, done(est, err)
}

// SaveDraft implements portal.Questionnaires.
func (q *Questionnaires) SaveDraft(ctx context.Context, d portal.QuestionnaireDraft) (portal.QuestionnaireDraft, error) {
	b, err := q.route(d.Establishment)
	if err != nil {
		return portal.QuestionnaireDraft{}, err
	}
	ctx, done := q.calls.start(ctx)
	saved, err := b.SaveDraft(ctx, d)
	return saved, done(d.Establishment, err)
}

// DeleteDraft implements portal.Questionnaires.
func (q *Questionnaires) DeleteDraft(ctx context.Context, est, questionnaire string) error {
	b, err := q.route(est)
	if err != nil {
		return err
	}
	ctx, done := q.calls.start(ctx)
	return done(est, b.DeleteDraft(ctx, est, questionnaire))
}

// Submit implements portal.Questionnaires.
func (q *Questionnaires) Submit(ctx context.Context, s portal.QuestionnaireSubmission) (portal.QuestionnaireSubmission, error) {
	b, err := q.route(s.Establishment)
	if err != nil {
		return portal.QuestionnaireSubmission{}, err
	}
	ctx, done := q.calls.start(ctx)
	out, err := b.Submit(ctx, s)
	return out, done(s.Establishment, err)
}

// Submission implements portal.Questionnaires: the first establishment
// (in order) that has it; an establishment that fails is an outage of
// this call only if none has it.
func (q *Questionnaires) Submission(ctx context.Context, id string) (portal.QuestionnaireSubmission, error) {
	var firstErr error
	for _, est := range q.order {
		bctx, done := q.calls.start(ctx)
		s, err := q.byID[est].Submission(bctx, id)
		err = done(est, err)
		switch {
		case err == nil:
			return s, nil
		case portal.IsCode(err, portal.ErrUnauthenticated):
			return s, err
		case !portal.IsCode(err, portal.ErrNotFound) && firstErr == nil:
			firstErr = err
		}
	}
	if firstErr != nil {
		return portal.QuestionnaireSubmission{}, firstErr
	}
	return portal.QuestionnaireSubmission{}, portal.Errorf(portal.ErrNotFound, "submission %q", id)
}

// CareTeamAlerts implements portal.Questionnaires.
func (q *Questionnaires) CareTeamAlerts(ctx context.Context, est, service string) ([]portal.CareTeamAlert, error) {
	b, err := q.route(est)
	if err != nil {
		return nil, err
	}
	ctx, done := q.calls.start(ctx)
	alerts, err := b.CareTeamAlerts(ctx, est, service)
	return alerts, done(est, err)
}
