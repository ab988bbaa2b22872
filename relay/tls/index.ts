export { loadCertificate, type CertificateFiles, type LoadedCertificate } from './certificate'
export { CertificateReloader, FILES_CHANGED, RELOAD_DEBOUNCE_MS, type CertificateReloaderInit } from './reloader'
export { wssCertificate, WssCertificate } from './wss-certificate'
export { CertificateLoadError } from './errors'
