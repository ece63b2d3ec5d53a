// Node peer of the callback CPU benchmark (same workload as the Rust and wechatpy runs):
// verify signature and msg_signature, decrypt (wechat-crypto), parse (xml2js, the `wechat`
// package's parser), decide, build the text reply and encrypt it. Prints one JSON line.
// Usage: node callback_bench.js WORKLOAD.json ITERATIONS
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const WXBizMsgCrypt = require('wechat-crypto');
const xml2js = require('xml2js');

const [workloadPath, iterationsArg] = process.argv.slice(2);
const workload = JSON.parse(fs.readFileSync(workloadPath, 'utf8'));
const iterations = Number(iterationsArg || 1);
const cipher = new WXBizMsgCrypt(workload.token, workload.encoding_aes_key, workload.appid);

function sha1(parts) {
  return crypto.createHash('sha1').update(parts.sort().join('')).digest('hex');
}

// xml2js calls back synchronously unless `async` is set.
function parseXml(text) {
  let out;
  xml2js.parseString(text, { explicitArray: false, trim: true }, (err, result) => {
    if (err) throw err;
    out = result.xml;
  });
  return out;
}

function handle(event, now) {
  if (sha1([workload.token, event.timestamp, event.nonce]) !== event.signature) throw new Error('bad signature');
  if (Math.abs(now - Number(event.timestamp)) > 300) throw new Error('stale');
  const envelope = parseXml(event.body);
  if (cipher.getSignature(event.timestamp, event.nonce, envelope.Encrypt) !== event.msg_signature) throw new Error('bad msg_signature');
  const opened = cipher.decrypt(envelope.Encrypt);
  if (opened.id !== workload.appid) throw new Error('wrong appid');
  const msg = parseXml(opened.message);
  let content;
  let signup = 0;
  if (msg.MsgType === 'event' && msg.Event === 'subscribe') {
    const key = msg.EventKey || '';
    if (key.startsWith('qrscene_course_')) {
      content = `报名成功：课程 ${key.slice('qrscene_course_'.length)}，开课前会提醒您。`;
      signup = 1;
    } else {
      content = '感谢关注！发送“课程”查看近期直播。';
    }
  } else {
    content = '';
  }
  const reply = `<xml><ToUserName><![CDATA[${msg.FromUserName}]]></ToUserName><FromUserName><![CDATA[${msg.ToUserName}]]></FromUserName><CreateTime>${now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${content}]]></Content></xml>`;
  const encrypted = cipher.encrypt(reply);
  const signature = cipher.getSignature(event.timestamp, event.nonce, encrypted);
  const out = `<xml><Encrypt><![CDATA[${encrypted}]]></Encrypt><MsgSignature><![CDATA[${signature}]]></MsgSignature><TimeStamp>${event.timestamp}</TimeStamp><Nonce><![CDATA[${event.nonce}]]></Nonce></xml>`;
  return [out.length, signup];
}

const now = workload.now;
const latencies = [];
let signups = 0;
let bytes = 0;
const cpu0 = process.cpuUsage();
const wall0 = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) {
  for (const event of workload.events) {
    const t = process.hrtime.bigint();
    const [n, s] = handle(event, now);
    latencies.push(Number(process.hrtime.bigint() - t));
    bytes += n;
    signups += s;
  }
}
const wallNs = Number(process.hrtime.bigint() - wall0);
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({
  name: `Node ${process.version} wechat-crypto ${require('wechat-crypto/package.json').version} + xml2js ${require('xml2js/package.json').version}`,
  events: latencies.length,
  signups,
  reply_bytes: bytes,
  wall_ns: wallNs,
  cpu_ns: (cpu.user + cpu.system) * 1000,
  latencies_ns: latencies,
}));
