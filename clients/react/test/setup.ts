import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// The real server on a busy two-core machine can take more than Testing Library's default second to answer.
configure({ asyncUtilTimeout: 15_000 });

afterEach(() => cleanup());
