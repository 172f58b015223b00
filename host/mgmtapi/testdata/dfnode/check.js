// check.js drives funchost's Durable Functions management API with
// Microsoft's durable-functions npm client, the way a JavaScript function
// app would, in both of the client's modes: through the local RPC endpoint
// (rpcBaseUrl) and through the binding's management URL templates.
//
//   node check.js <managementBaseUrl> <taskHub>
//
// managementBaseUrl is e.g. http://127.0.0.1:7071/runtime/webhooks/durabletask
// and the host must run the sample app. It prints one line per check and a
// closing summary line, and exits non-zero on any failure.
"use strict";
const assert = require("node:assert/strict");
const { DurableClient } = require("durable-functions/lib/src/durableClient/DurableClient");
const { EntityId } = require("durable-functions/lib/src/entities/EntityId");

const [base, hub] = process.argv.slice(2);
if (!base || !hub) {
  console.error("usage: node check.js <managementBaseUrl> <taskHub>");
  process.exit(2);
}

// clientData is the durableClient binding value (Durable Functions §2.4):
// URL templates with the INSTANCEID placeholder.
function clientData(rpc) {
  const q = `taskHub=${hub}&connection=Storage`;
  const inst = `${base}/instances/INSTANCEID`;
  return {
    taskHubName: hub,
    creationUrls: {
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?${q}`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${q}`,
    },
    managementUrls: {
      id: "INSTANCEID",
      statusQueryGetUri: `${inst}?${q}`,
      sendEventPostUri: `${inst}/raiseEvent/{eventName}?${q}`,
      terminatePostUri: `${inst}/terminate?reason={text}&${q}`,
      rewindPostUri: `${inst}/rewind?reason={text}&${q}`,
      purgeHistoryDeleteUri: `${inst}?${q}`,
      restartPostUri: `${inst}/restart?${q}`,
      suspendPostUri: `${inst}/suspend?reason={text}&${q}`,
      resumePostUri: `${inst}/resume?reason={text}&${q}`,
    },
    baseUrl: base,
    // The client builds entity URLs only when this is non-empty.
    requiredQueryStringParameters: q,
    rpcBaseUrl: rpc ? base + "/" : undefined,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until polls getStatus until the runtime status is one of want.
async function until(client, id, ...want) {
  for (let i = 0; i < 3000; i++) {
    const st = await client.getStatus(id);
    if (want.includes(st.runtimeStatus)) return st;
    await sleep(20);
  }
  throw new Error(`instance ${id} never reached ${want}`);
}

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}

async function suite(mode) {
  const client = new DurableClient(clientData(mode === "rpc"));
  const tag = `${mode}-${Date.now()}`;
  const started = [];

  await check(`${mode}: startNew + getStatus`, async () => {
    const id = await client.startNew("Echo", { input: { a: [1, "x"] } });
    assert.match(id, /^[0-9a-f]{32}$/);
    started.push(id);
    const st = await until(client, id, "Completed");
    assert.equal(st.name, "Echo");
    assert.equal(st.instanceId, id);
    assert.deepEqual(st.input, { a: [1, "x"] });
    assert.deepEqual(st.output, { a: [1, "x"] });
    assert.ok(st.createdTime instanceof Date && !isNaN(st.createdTime));
  });

  await check(`${mode}: instance ID with spaces, suspend, raiseEvent, resume`, async () => {
    const id = `js approval ${tag}`;
    assert.equal(await client.startNew("WaitForApproval", { instanceId: id }), id);
    await until(client, id, "Running");
    await client.suspend(id, "hold on");
    await until(client, id, "Suspended");
    await client.raiseEvent(id, "Approval", { ok: true });
    await client.resume(id, "go on");
    const st = await until(client, id, "Completed");
    assert.deepEqual(st.output, { ok: true });
  });

  await check(`${mode}: singleton start of a running ID is refused`, async () => {
    const id = `js single ${tag}`;
    await client.startNew("WaitForApproval", { instanceId: id });
    await assert.rejects(client.startNew("WaitForApproval", { instanceId: id }), /409/);
    await client.terminate(id, "cleanup");
    await until(client, id, "Terminated");
  });

  await check(`${mode}: terminate`, async () => {
    const id = await client.startNew("WaitForApproval");
    await until(client, id, "Running");
    await client.terminate(id, "no longer needed");
    const st = await until(client, id, "Terminated");
    assert.equal(st.output, "no longer needed");
    // Terminating again is accepted quietly (410 is not an error for the client).
    await client.terminate(id, "again");
  });

  await check(`${mode}: rewind of a non-failed instance is refused`, async () => {
    await assert.rejects(client.rewind(started[0], "why"), /failed/i);
  });

  await check(`${mode}: getStatusBy and getStatusAll`, async () => {
    const done = await client.getStatusBy({ runtimeStatus: ["Completed"] });
    assert.ok(Array.isArray(done) && done.some((s) => s.instanceId === started[0]));
    assert.ok(done.every((s) => s.runtimeStatus === "Completed"));
    const all = await client.getStatusAll();
    assert.ok(all.length >= done.length);
  });

  await check(`${mode}: waitForCompletionOrCreateCheckStatusResponse`, async () => {
    const id = await client.startNew("HelloSequence");
    const resp = await client.waitForCompletionOrCreateCheckStatusResponse({ url: "http://example.com/api/x" }, id, {
      timeoutInMilliseconds: 30000,
      retryIntervalInMilliseconds: 50,
    });
    assert.equal(resp.status, 200);
    assert.deepEqual(await resp.json(), ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]);
  });

  await check(`${mode}: purgeInstanceHistory and purgeInstanceHistoryBy`, async () => {
    const res = await client.purgeInstanceHistory(started[0]);
    assert.equal(res.instancesDeleted, 1);
    await assert.rejects(client.getStatus(started[0]), /404/);
    const none = await client.purgeInstanceHistory(started[0]);
    assert.equal(none.instancesDeleted, 0);
    const by = await client.purgeInstanceHistoryBy({
      createdTimeFrom: new Date(Date.now() - 3600 * 1000),
      runtimeStatus: ["Terminated"],
    });
    assert.ok(by.instancesDeleted >= 1, `purged ${by.instancesDeleted}`);
  });
}

// readUntil polls readEntityState until ok holds for the response.
async function readUntil(client, id, ok) {
  let st;
  for (let i = 0; i < 1500; i++) {
    st = await client.readEntityState(id);
    if (ok(st)) return st;
    await sleep(20);
  }
  throw new Error(`entity ${id} never reached the expected state; last ${JSON.stringify(st)}`);
}

async function entitySuite(mode) {
  const client = new DurableClient(clientData(mode === "rpc"));
  await check(`${mode}: signalEntity and readEntityState`, async () => {
    const id = new EntityId("Counter", `js-${mode}-${Date.now()}`);
    const none = await client.readEntityState(id);
    assert.equal(none.entityExists, false);
    await client.signalEntity(id, "add", 5);
    await client.signalEntity(id, "add", 2);
    const st = await readUntil(client, id, (s) => s.entityExists && s.entityState.value === 7);
    assert.deepEqual(st.entityState, { value: 7 });
    await client.signalEntity(id, "reset");
    await readUntil(client, id, (s) => s.entityExists && s.entityState.value === 0);
    await client.signalEntity(id, "delete");
    await readUntil(client, id, (s) => !s.entityExists);
  });
}

(async () => {
  await entitySuite("rpc");
  await entitySuite("urls");
  await suite("rpc");
  await suite("urls");
  console.log(`durable-functions client checks: ${passed} ok, ${failed} failing`);
  process.exit(failed ? 1 : 0);
})();
