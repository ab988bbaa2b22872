export { Library, type AddedListener, type AddedVideo, type AddUploadedFileOptions, type CatalogueEntry, type LibraryFile, type LibraryInit } from './library'
export { readMp4Duration, findDuration, parseMvhd, type ReadAt } from './mp4-duration'
export { titleFromFilename, cleanTitle, MAX_TITLE_LENGTH } from './titles'
export * from './errors'
