// replication-lag: on a primary each standby from pg_stat_replication (write,
// flush, replay lag in bytes and seconds) and the count against the expected
// number; on a standby its own receive/replay lag and WAL receiver state.
// Only physical standbys that replay are standbys: a WAL archiver (pg_receivewal,
// pg_basebackup -X stream) reports no replay position, a logical walsender serves a
// logical slot from a database connection. Both are listed apart, never counted.
import type { PoolClient } from 'pg';
import type { ReplicationOptions } from '../config';
import { num, TaskContext } from '../context';
import { withClient } from '../db';
import { requireRoles } from '../privileges';
import type { Finding, TaskResult } from '../report';

export async function replicationLag(ctx: TaskContext<'replication-lag'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  return withClient(ctx.pool, async (client) => {
    // pg_stat_replication and pg_stat_wal_receiver show only pids to other roles
    await requireRoles(client, 'replication-lag', ['pg_read_all_stats']);
    const { rows: [{ standby }] } = await client.query('SELECT pg_is_in_recovery() AS standby');
    return standby ? onStandby(ctx, opts, client) : onPrimary(ctx, opts, client);
  });
}


async function onPrimary(ctx: TaskContext<'replication-lag'>, opts: ReplicationOptions, client: PoolClient): Promise<TaskResult> {
  const { rows: senders } = await client.query(
    `SELECT r.pid, r.application_name, r.client_addr::text AS client_addr, r.state, r.sync_state,
            r.sent_lsn::text, r.write_lsn::text, r.flush_lsn::text, r.replay_lsn::text,
            pg_wal_lsn_diff(pg_current_wal_lsn(), r.write_lsn) AS write_lag_bytes,
            pg_wal_lsn_diff(pg_current_wal_lsn(), r.flush_lsn) AS flush_lag_bytes,
            pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn) AS replay_lag_bytes,
            extract(epoch FROM r.write_lag) AS write_lag_seconds,
            extract(epoch FROM r.flush_lag) AS flush_lag_seconds,
            extract(epoch FROM r.replay_lag) AS replay_lag_seconds,
            sl.slot_name, sl.slot_type, a.datname,
            CASE WHEN sl.slot_type = 'logical' OR a.datname IS NOT NULL THEN 'logical'
                 WHEN r.replay_lsn IS NULL THEN 'no_replay'
                 ELSE 'physical' END AS kind
       FROM pg_stat_replication r
       LEFT JOIN pg_replication_slots sl ON sl.active_pid = r.pid
       LEFT JOIN pg_stat_activity a ON a.pid = r.pid
      ORDER BY r.application_name, r.pid`);
  const rows = senders.filter((r) => r.kind === 'physical');
  const otherWalSenders = senders.filter((r) => r.kind !== 'physical').map((r) => ({
    pid: r.pid,
    applicationName: r.application_name,
    clientAddr: r.client_addr,
    state: r.state,
    slotName: r.slot_name,
    database: r.datname,
    kind: r.kind === 'logical' ? 'logical walsender' : 'WAL receiver without replay (pg_receivewal, pg_basebackup)',
  }));
  const findings: Finding[] = [];
  const standbys = rows.map((r) => {
    const s = {
      name: `${r.application_name || 'standby'}@${r.client_addr ?? 'local'}`,
      pid: r.pid,
      applicationName: r.application_name,
      clientAddr: r.client_addr,
      state: r.state,
      syncState: r.sync_state,
      sentLsn: r.sent_lsn,
      replayLsn: r.replay_lsn,
      // lag columns are NULL when the standby is caught up and idle
      writeLagBytes: num(r.write_lag_bytes) ?? 0,
      flushLagBytes: num(r.flush_lag_bytes) ?? 0,
      replayLagBytes: num(r.replay_lag_bytes) ?? 0,
      writeLagSeconds: num(r.write_lag_seconds) ?? 0,
      flushLagSeconds: num(r.flush_lag_seconds) ?? 0,
      replayLagSeconds: num(r.replay_lag_seconds) ?? 0,
    };
    const maxBytes = Math.max(s.writeLagBytes, s.flushLagBytes, s.replayLagBytes);
    const maxSeconds = Math.max(s.writeLagSeconds, s.flushLagSeconds, s.replayLagSeconds);
    ctx.metrics.set('aiaas_replication_lag_bytes', 'Replay lag of a standby in bytes', s.replayLagBytes, { standby: s.name });
    ctx.metrics.set('aiaas_replication_lag_seconds', 'Replay lag of a standby in seconds', s.replayLagSeconds, { standby: s.name });
    if (maxBytes > opts.maxLagBytes) {
      findings.push({ code: 'replication_lag_bytes', message: `standby ${s.name} lags ${maxBytes} bytes (> ${opts.maxLagBytes})`, standby: s.name, bytes: maxBytes });
    }
    if (maxSeconds > opts.maxLagSeconds) {
      findings.push({ code: 'replication_lag_seconds', message: `standby ${s.name} lags ${maxSeconds.toFixed(1)} s (> ${opts.maxLagSeconds})`, standby: s.name, seconds: maxSeconds });
    }
    return s;
  });
  const streaming = standbys.filter((s) => s.state === 'streaming').length;
  ctx.metrics.set('aiaas_replication_standbys', 'Standbys streaming from the primary', streaming);
  if (streaming < opts.expectedStandbys) {
    findings.push({
      code: 'standbys_missing',
      message: streaming === 0
        ? `no standby is streaming from this primary (expected ${opts.expectedStandbys})`
        : `${streaming} standbys streaming, expected ${opts.expectedStandbys}`,
      streaming,
      expected: opts.expectedStandbys,
    });
  }
  return { findings, data: { role: 'primary', streaming, expectedStandbys: opts.expectedStandbys, standbys, otherWalSenders } };
}

async function onStandby(ctx: TaskContext<'replication-lag'>, opts: ReplicationOptions, client: PoolClient): Promise<TaskResult> {
  const { rows: [r] } = await client.query(
    `SELECT pg_last_wal_receive_lsn()::text AS receive_lsn, pg_last_wal_replay_lsn()::text AS replay_lsn,
            coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0) AS replay_lag_bytes,
            CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                 ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END AS replay_lag_seconds,
            pg_is_wal_replay_paused() AS paused,
            (SELECT status FROM pg_stat_wal_receiver) AS receiver_status,
            (SELECT sender_host FROM pg_stat_wal_receiver) AS sender_host`);
  const bytes = num(r.replay_lag_bytes) ?? 0;
  const seconds = num(r.replay_lag_seconds) ?? 0;
  const name = 'self';
  ctx.metrics.set('aiaas_replication_lag_bytes', 'Replay lag of a standby in bytes', bytes, { standby: name });
  ctx.metrics.set('aiaas_replication_lag_seconds', 'Replay lag of a standby in seconds', seconds, { standby: name });
  const findings: Finding[] = [];
  if (r.receiver_status !== 'streaming') {
    findings.push({ code: 'wal_receiver_not_streaming', message: `WAL receiver is ${r.receiver_status ?? 'not running'}: this standby does not stream from a primary` });
  }
  if (bytes > opts.maxLagBytes) {
    findings.push({ code: 'replication_lag_bytes', message: `received WAL not replayed: ${bytes} bytes (> ${opts.maxLagBytes})${r.paused ? ', replay is paused' : ''}`, bytes });
  }
  if (seconds > opts.maxLagSeconds) {
    findings.push({ code: 'replication_lag_seconds', message: `replay lags ${seconds.toFixed(1)} s (> ${opts.maxLagSeconds})`, seconds });
  }
  return {
    findings,
    data: {
      role: 'standby',
      receiverStatus: r.receiver_status,
      senderHost: r.sender_host,
      receiveLsn: r.receive_lsn,
      replayLsn: r.replay_lsn,
      replayPaused: r.paused,
      replayLagBytes: bytes,
      replayLagSeconds: seconds,
    },
  };
}
