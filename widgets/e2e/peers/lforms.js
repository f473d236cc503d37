// The LHC-Forms peer: renders the Questionnaire inlined in the page with the
// lhc-forms web component, and tells the bench whether an answer reached
// LHC-Forms' model (the QuestionnaireResponse it would send).
const container = document.getElementById('form');
const questionnaire = JSON.parse(document.getElementById('questionnaire').textContent);

const answered = (items) => (items || []).some((i) => (i.answer && i.answer.length > 0) || answered(i.item));
window.peerAnswered = () => {
  const response = LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', container);
  return !!response && answered(response.item);
};

LForms.Util.addFormToPage(questionnaire, container, { fhirVersion: 'R4' }).catch((e) => {
  document.documentElement.dataset.error = String((e && e.message) || e);
});
