/**
 * Labelled form controls of the filter bars and forms. The <label> wraps its control, so the label
 * text is the control's accessible name. onChange gets the new value.
 */

export function DateField({
  label,
  name,
  value,
  min,
  max,
  onChange,
}: {
  label: string
  name: string
  value: string
  min?: string
  max?: string
  onChange: (value: string) => void
}) {
  return (
    <label class="field">
      {label}
      <input
        type="date"
        name={name}
        value={value}
        min={min}
        max={max}
        onChange={(e) => onChange((e.target as HTMLInputElement).value)}
      />
    </label>
  )
}

/** An option given as a string is its own label. */
export type SelectOption = string | { value: string; label: string }

export function SelectField({
  label,
  name,
  value,
  options,
  onChange,
}: {
  label: string
  name: string
  value: string
  options: SelectOption[]
  onChange: (value: string) => void
}) {
  return (
    <label class="field">
      {label}
      <select name={name} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        {options.map((o) => {
          const { value: v, label: text } = typeof o === 'string' ? { value: o, label: o } : o
          return (
            <option key={v} value={v}>
              {text}
            </option>
          )
        })}
      </select>
    </label>
  )
}
