// ioredis's defineCommand against a server on the port given as argument:
// defines two scripted commands, runs them (EVALSHA first, EVAL on NOSCRIPT,
// as ioredis does), and prints what came back as one JSON line.
const Redis = require("ioredis");

async function main() {
  const port = parseInt(process.argv[2], 10);
  const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  redis.defineCommand("incrCapped", {
    numberOfKeys: 1,
    lua: "local v = redis.call('INCR', KEYS[1]) if v > tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end return v",
  });
  redis.defineCommand("echoAll", {
    numberOfKeys: 2,
    lua: "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}",
  });
  await redis.script("FLUSH");
  const out = {};
  out.first = await redis.incrCapped("counter", 2);
  out.second = await redis.incrCapped("counter", 2);
  out.third = await redis.incrCapped("counter", 2);
  out.echo = await redis.echoAll("a", "b", "c", "d");
  const pipeline = redis.pipeline();
  pipeline.incrCapped("other", 10);
  pipeline.echoAll("k1", "k2", "x", "y");
  out.pipeline = (await pipeline.exec()).map(([err, value]) => (err ? String(err) : value));
  try {
    await redis.eval("return redis.call('nosuchcommand')", 0);
  } catch (e) {
    out.error = String(e.message).split(" script:")[0];
  }
  redis.disconnect();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
