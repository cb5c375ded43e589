export declare const TARGET: string;
export declare function generateSchemaTypes(document: object): Promise<string>;
