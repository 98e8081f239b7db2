-- AlterTable
ALTER TABLE "LoginEvent" ADD COLUMN     "suspicious" TEXT;
