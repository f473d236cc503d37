// Steps shared by the booking tests against the standalone host
// (booking.test.mjs) and against the Worker (worker-booking.test.mjs): the
// same widget, the same patient path, two hosts.
import assert from 'node:assert/strict';

// bookSecondDay books the first slot of the second day offered, signed in
// as the demo patient (value of the demo select, name shown once signed
// in), and returns the parcours:booked event's detail as the host page
// received it.
export async function bookSecondDay(page, w, patient, name) {
  const days = w.locator('button.pc-day');
  assert.ok(await days.count() >= 2, 'several days offer slots');
  const second = days.nth(1);
  const secondText = (await second.textContent()).trim();
  await second.click();
  await w.locator('button.pc-day[aria-pressed="true"]', { hasText: secondText }).waitFor();

  // The slot's accessible name says when and with whom.
  const slot = w.locator('button.pc-slot').first();
  assert.match(await slot.getAttribute('aria-label'), /\d{2}:\d{2} avec /);
  await slot.click();
  await w.locator('h3#pc-step-title', { hasText: 'Vérifiez votre rendez-vous' }).waitFor();

  // Demo sign-in, clearly marked, then confirm.
  await w.locator('.pc-demo-badge').waitFor();
  await w.locator('select#pc-demo').selectOption(patient);
  await w.getByRole('button', { name: 'Se connecter (démo)' }).click();
  await w.locator('.pc-who', { hasText: name }).waitFor();
  await w.getByRole('button', { name: 'Confirmer le rendez-vous' }).click();
  await w.locator('h3#pc-step-title', { hasText: 'Rendez-vous confirmé' }).waitFor();

  // The page receives parcours:booked with no health data.
  const entry = page.locator('#event-log li[data-event="parcours:booked"]');
  await entry.waitFor();
  const detail = JSON.parse((await entry.textContent()).replace('parcours:booked ', ''));
  assert.deepEqual(Object.keys(detail).sort(), ['appointment', 'start']);
  assert.ok(!Number.isNaN(Date.parse(detail.start)));
  return detail;
}

// assertBooked opens "my appointments" and finds the appointment booked.
export async function assertBooked(w, appointment) {
  await w.getByRole('button', { name: 'Mes rendez-vous' }).first().click();
  const item = w.locator(`li.pc-appointment[data-appointment="${appointment}"]`);
  await item.waitFor();
  assert.equal(await item.getAttribute('data-status'), 'booked');
  return item;
}
