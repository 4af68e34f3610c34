/**
 * CPU per frame sent, for several ways of sending, alternating in one run
 * (bench/server-send.ts, bench/client-send.ts): each arm sends one frame to
 * every socket per round, yielding between rounds; its figure is this
 * process's user + system CPU over the rounds, per frame. Prints a Markdown
 * table of the runs and their medians, and returns the medians by arm.
 */
export type Arm<S> = [name: string, send: (socket: S) => void];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function compareSends<S>(
  sockets: readonly S[],
  rounds: number,
  repeats: number,
  arms: Arm<S>[],
  side: 'server' | 'client',
): Promise<number[]> {
  const run = async (send: (s: S) => void): Promise<number> => {
    const t0 = process.cpuUsage();
    for (let r = 0; r < rounds; r++) {
      for (const s of sockets) send(s);
      await new Promise((res) => setImmediate(res));
    }
    const t = process.cpuUsage(t0);
    await new Promise((res) => setTimeout(res, 200));
    return (t.user + t.system) / (sockets.length * rounds);
  };
  const results = arms.map((): number[] => []);
  for (let i = 0; i < repeats; i++)
    for (const [k, [, send]] of arms.entries()) results[k]!.push(await run(send));
  console.log(
    `${sockets.length} connections × ${rounds} rounds, ${repeats} alternating repeats; µs of ${side} CPU per frame`,
  );
  console.log('| send | runs (µs per frame) | median |');
  console.log('|---|---|---|');
  for (const [k, [name]] of arms.entries())
    console.log(
      `| ${name} | ${results[k]!.map((x) => x.toFixed(1)).join(', ')} | ${median(results[k]!).toFixed(1)} |`,
    );
  return results.map(median);
}
