// The Medplum peer: the smallest page that renders a FHIR Questionnaire with
// @medplum/react's QuestionnaireForm (inside the MantineProvider and the
// MedplumProvider it needs). The Questionnaire is inlined in the page by the
// bench's server; the client never reaches a Medplum server (its fetch
// answers locally). window.peerAnswered tells the bench whether onChange
// has delivered a QuestionnaireResponse holding an answer.
import '@mantine/core/styles.css';
import '@medplum/react/styles.css';
import { MantineProvider } from '@mantine/core';
import { MedplumClient } from '@medplum/core';
import { MedplumProvider, QuestionnaireForm } from '@medplum/react';
import { createRoot } from 'react-dom/client';

const questionnaire = JSON.parse(document.getElementById('questionnaire').textContent);
const medplum = new MedplumClient({
  baseUrl: location.origin + '/',
  fetch: async () => new Response('{}', { status: 404, headers: { 'Content-Type': 'application/fhir+json' } }),
});

const answered = (items) => (items || []).some((i) => (i.answer && i.answer.length > 0) || answered(i.item));

let last = null;
window.peerAnswered = () => !!last && answered(last.item);
const onChange = (response) => { last = response; };

createRoot(document.getElementById('root')).render(
  <MantineProvider>
    <MedplumProvider medplum={medplum}>
      <QuestionnaireForm questionnaire={questionnaire} onChange={onChange} onSubmit={() => {}} />
    </MedplumProvider>
  </MantineProvider>,
);
