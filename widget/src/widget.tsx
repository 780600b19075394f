import { render } from 'preact'
import { signal } from '@preact/signals'

const status = signal('Pipeline Pulse')
function App() {
  return <h1>{status}</h1>
}
render(<App />, document.getElementById('root')!)
