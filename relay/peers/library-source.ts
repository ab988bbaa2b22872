import type { ContentId, Manifest } from '@core/content/manifest'
import { videoFields, type CatalogueSource, type RemoteVideo } from '@core/protocols/catalogue'
import type { AbortOptions } from '@core/util/abort'
import type { Library } from '../library/index'

/**
 * What this relay shares with others over /pipbingo/catalogue/1.0.0: its
 * library only. Videos published from browsers are this relay's visitors'
 * business, and videos learned from other relays are theirs to share (so
 * relays that list each other never echo).
 */
export function librarySource (library: Pick<Library, 'entries' | 'byContentId' | 'manifest'>): CatalogueSource {
  return {
    list: (): RemoteVideo[] => library.entries().map(videoFields),
    manifest: async (contentId: ContentId, options?: AbortOptions): Promise<Manifest | undefined> =>
      library.byContentId(contentId) == null ? undefined : await library.manifest(contentId, options)
  }
}
