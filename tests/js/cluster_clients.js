// ioredis Cluster with reads from replicas (scaleReads "slave"): the port of
// one node is the argument. Writes N keys through the cluster, reads them all
// back, and prints a JSON line with how many it read back right. Then waits
// for a line on stdin (the test kills a master meanwhile) and writes and
// reads again until every key is there, printing a second JSON line.
const Redis = require("ioredis");
const readline = require("readline");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function roundTrip(cluster, prefix, n, deadline) {
  let good = 0;
  let errors = 0;
  for (let i = 0; i < n; i++) {
    for (;;) {
      try {
        await cluster.set(`${prefix}:${i}`, `v${i}`);
        break;
      } catch (e) {
        errors++;
        if (Date.now() > deadline) throw e;
        await sleep(100);
      }
    }
  }
  for (let i = 0; i < n; i++) {
    for (;;) {
      try {
        // A replica may lag a moment behind the write it serves a read for.
        const v = await cluster.get(`${prefix}:${i}`);
        if (v === `v${i}`) {
          good++;
          break;
        }
        if (Date.now() > deadline) break;
        await sleep(20);
      } catch (e) {
        errors++;
        if (Date.now() > deadline) throw e;
        await sleep(100);
      }
    }
  }
  return { good, errors };
}

async function main() {
  const port = parseInt(process.argv[2], 10);
  const n = parseInt(process.argv[3] || "300", 10);
  const cluster = new Redis.Cluster([{ host: "127.0.0.1", port }], {
    scaleReads: "slave",
    clusterRetryStrategy: () => 100,
    redisOptions: { maxRetriesPerRequest: 2 },
  });
  const first = await roundTrip(cluster, "before", n, Date.now() + 30000);
  console.log(JSON.stringify({ phase: "ready", ...first }));
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once("line", resolve));
  rl.close();
  const second = await roundTrip(cluster, "after", n, Date.now() + 40000);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    try {
      if ((await cluster.get(`before:${i}`)) === `v${i}`) kept++;
    } catch (e) {
      // counted as not kept
    }
  }
  console.log(JSON.stringify({ phase: "done", ...second, kept }));
  cluster.disconnect();
}

main().catch((e) => {
  console.log(JSON.stringify({ phase: "error", error: String(e) }));
  process.exit(1);
});
