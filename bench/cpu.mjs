// CPU meters from Linux /proc (null elsewhere): of this process (the load and Miniflare's Node side),
// of the workerd runtime Miniflare started (the server), and of the rest of the machine, whose share
// (other people's work on shared machines) says how far the figures can be trusted.
import { readdir, readFile } from "node:fs/promises";

const USER_HZ = 100; // the unit of /proc's CPU times on Linux

/** The stat line's fields after the parenthesised command name: state ppid pgrp ... utime(11) stime(12). */
function statFields(stat) {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU seconds used so far by the workerd processes descending from this one, and their pids. */
async function serverProcesses() {
  let pids;
  try {
    pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const processes = new Map();
  await Promise.all(
    pids.map(async (pid) => {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
      if (stat) processes.set(Number(pid), { stat, fields: statFields(stat) });
    }),
  );
  const descends = (pid) => {
    for (let p = pid; p > 1 && processes.has(p); p = Number(processes.get(p).fields[1])) {
      if (p === process.pid) return true;
    }
    return false;
  };
  let ticks = 0;
  const workerd = [];
  for (const [pid, { stat, fields }] of processes) {
    if (pid === process.pid || !stat.includes("(workerd)") || !descends(pid)) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
    workerd.push(pid);
  }
  return { cpuSeconds: ticks / USER_HZ, workerd: workerd.sort().join(" ") };
}

/** CPU seconds used so far by the workerd processes descending from this one (null off Linux). */
export async function workerdCpuSeconds() {
  return (await serverProcesses())?.cpuSeconds ?? null;
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
async function machineCpuSeconds() {
  const stat = await readFile("/proc/stat", "utf8").catch(() => null);
  if (!stat) return null;
  // "cpu  user nice system idle iowait irq softirq steal ...", in USER_HZ ticks.
  const ticks = stat.split("\n")[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return (ticks.reduce((sum, n) => sum + n, 0) - ticks[3] - ticks[4]) / USER_HZ;
}

/** Starts measuring; answers the function that ends it, given the seconds measured. */
export async function startCpuMeter() {
  const client = process.cpuUsage();
  const [server, machine] = await Promise.all([serverProcesses(), machineCpuSeconds()]);
  return async (seconds) => {
    const cpu = process.cpuUsage(client);
    const [serverAfter, machineAfter] = await Promise.all([serverProcesses(), machineCpuSeconds()]);
    const clientCpu = (cpu.user + cpu.system) / 1e6 / seconds;
    const serverCpu = server === null ? null : (serverAfter.cpuSeconds - server.cpuSeconds) / seconds;
    const machineCpu = machine === null ? null : (machineAfter - machine) / seconds;
    return {
      clientCpu,
      serverCpu,
      otherCpu: serverCpu === null || machineCpu === null ? null : Math.max(0, machineCpu - serverCpu - clientCpu),
      // Miniflare restarts a crashed runtime, which clients barely notice.
      serverRestarted: server !== null && server.workerd !== serverAfter.workerd,
    };
  };
}
