import type { Prisma } from '../db/database';
import type { VersionSpeed } from '../db/generated/client';

export type SpeedRecord = VersionSpeed;
export type NewSpeed = Omit<VersionSpeed, 'id' | 'measuredAt'>;

/** Speed measurements: the latest per version, input size, execution provider and thread count. */
export class SpeedRepository {
  constructor(private readonly prisma: Prisma) {}

  /** Records a measurement, replacing the earlier one of the same setting. */
  record(m: NewSpeed): Promise<SpeedRecord> {
    const { versionId, width, height, channels, layout, executionProvider, threads } = m;
    return this.prisma.versionSpeed.upsert({
      where: {
        versionId_width_height_channels_layout_executionProvider_threads: {
          versionId,
          width,
          height,
          channels,
          layout,
          executionProvider,
          threads,
        },
      },
      create: m,
      update: { ...m, measuredAt: new Date() },
    });
  }

  /** The most recent measurement of each version (any setting); versions never measured are absent. */
  latestOf(versionIds: readonly number[]): Promise<SpeedRecord[]> {
    return this.prisma.versionSpeed.findMany({
      where: { versionId: { in: [...versionIds] } },
      orderBy: [{ versionId: 'asc' }, { measuredAt: 'desc' }, { id: 'desc' }],
      distinct: ['versionId'],
    });
  }
}
