import './styles.css'

/**
 * Web view entry: deliberately tiny. The page paints its own "Loading" placeholder; the app (API
 * client, zod contracts, money formatting) arrives as one dynamic chunk and each view as its own.
 */
void import('./web-main').then((m) => m.start(document.getElementById('root')!))
