// ioredis through Sentinel: the Sentinels' ports are the arguments. Finds the
// master of "mymaster" through them, writes, prints the master's port as a
// JSON line, waits for a line on stdin (the test kills the master then),
// and keeps writing until a write lands on another master, which it prints
// with what it reads back.
const Redis = require("ioredis");
const readline = require("readline");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function masterPort(redis) {
  const info = await redis.info("server");
  return parseInt(info.match(/tcp_port:(\d+)/)[1], 10);
}

async function main() {
  const sentinels = process.argv.slice(2).map((p) => ({ host: "127.0.0.1", port: parseInt(p, 10) }));
  const redis = new Redis({
    sentinels,
    name: "mymaster",
    sentinelRetryStrategy: () => 100,
    retryStrategy: () => 100,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
  });
  await redis.set("before", "1");
  const first = await masterPort(redis);
  console.log(JSON.stringify({ phase: "ready", port: first }));
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once("line", resolve));
  rl.close();
  const deadline = Date.now() + 40000;
  let port = first;
  let errors = 0;
  while (Date.now() < deadline) {
    try {
      await redis.set("after", "2");
      port = await masterPort(redis);
      if (port !== first) break;
    } catch (e) {
      errors += 1;
    }
    await sleep(100);
  }
  const out = { phase: "done", port, errors, before: await redis.get("before"), after: await redis.get("after") };
  console.log(JSON.stringify(out));
  redis.disconnect();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
