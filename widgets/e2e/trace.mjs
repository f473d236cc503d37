// stopTrace ends a Chrome trace started with Tracing.start on a CDP session
// (transferMode ReturnAsStream) and returns it as JSON text. Shared by the
// browser benchmark (bench.mjs) and the tests that read traces.
export async function stopTrace(cdp) {
  const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.end');
  const { stream } = await done;
  let text = '';
  for (;;) {
    const { data, eof, base64Encoded } = await cdp.send('IO.read', { handle: stream, size: 1 << 20 });
    text += base64Encoded ? Buffer.from(data, 'base64').toString() : data;
    if (eof) break;
  }
  await cdp.send('IO.close', { handle: stream });
  return text;
}
