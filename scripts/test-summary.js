// Prints one closing line, "N passed, N failed, N skipped", summed over the TRX files dotnet test wrote.
const fs = require('fs');
const path = require('path');
const dir = process.argv[2];
let passed = 0, failed = 0, skipped = 0;
for (const file of fs.readdirSync(dir, { recursive: true })) {
  if (!String(file).endsWith('.trx')) continue;
  const xml = fs.readFileSync(path.join(dir, String(file)), 'utf8');
  const counters = /<Counters\b([^>]*)>/.exec(xml);
  if (!counters) continue;
  const n = (name) => Number((new RegExp(`\\b${name}="(\\d+)"`).exec(counters[1]) || [0, 0])[1]);
  passed += n('passed');
  failed += n('failed') + n('error') + n('timeout') + n('aborted');
  skipped += n('notExecuted');
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
