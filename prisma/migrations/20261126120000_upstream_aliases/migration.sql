-- AlterTable
ALTER TABLE "DvcProvenance" ADD COLUMN     "aliases" TEXT[];
