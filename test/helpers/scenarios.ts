/** Small load scenarios for tests: a few seconds of reference users against one target. */
export function shortScenario(
  target: string,
  options: { name?: string; duration?: string; extra?: string } = {},
): string {
  return `
name: ${options.name ?? 'short'}
targets: [${target}]
phases: [{ duration: ${options.duration ?? '3s'}, arrivalRate: 20 }]
catalogue: { size: 4 }
drain: 5s
users:
  - kind: reference
    session: { exponential: { mean: 2s } }
    think: { exponential: { mean: 150ms } }
    badClients: 0
${options.extra ?? ''}`;
}
