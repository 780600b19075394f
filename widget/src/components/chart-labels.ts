/**
 * Category labels shortened to `max` characters for a narrow chart. Words every label shares go
 * first ("FY2026" of "FY2026 Q1" … "FY2026 Q4"): they tell the bars apart least, and cutting the
 * labels' ends instead left four "FY2026 …". What is still too long is cut with an ellipsis.
 */
export function shortLabels(labels: string[], max: number): string[] {
  if (labels.every((l) => l.length <= max)) return labels
  let words = labels.map((l) => l.split(' '))
  const shared = (at: (w: string[]) => string | undefined) =>
    labels.length > 1 && words.every((w) => w.length > 1 && at(w) === at(words[0]!))
  while (shared((w) => w[0])) words = words.map((w) => w.slice(1))
  while (shared((w) => w.at(-1))) words = words.map((w) => w.slice(0, -1))
  return words.map((w) => {
    const l = w.join(' ')
    return l.length > max ? `${l.slice(0, max - 1)}…` : l
  })
}
