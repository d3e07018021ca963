/* TFLite schema tables, leaves first so that every reference points to a defined object.
 * Each string lists the table's fields in declaration order (see verify.h for the codes);
 * the comment beside it names the fields. */
#include "format/tflite_schema.h"

#define TABLE(name, fields) {#name, fields, NULL, NULL}

/* --- BuiltinOptions: member type N is entry N - 1 --------------------------------------- */
static const fb_table_desc builtin_options[] = {
    TABLE(Conv2DOptions, "biibiib"),     /* padding stride_w stride_h act dil_w dil_h bias_type */
    TABLE(DepthwiseConv2DOptions, "biiibii"), /* padding sw sh depth_mult act dil_w dil_h */
    TABLE(ConcatEmbeddingsOptions, "i44"),
    TABLE(LSHProjectionOptions, "b"),
    TABLE(Pool2DOptions, "biiiib"),      /* padding sw sh filter_w filter_h act */
    TABLE(SVDFOptions, "ibo"),
    TABLE(RNNOptions, "bo"),
    TABLE(FullyConnectedOptions, "bboob"), /* act weights_format keep_dims asym bias_type */
    TABLE(SoftmaxOptions, "f"),
    TABLE(ConcatenationOptions, "ib"),
    TABLE(AddOptions, "bo"),
    TABLE(L2NormOptions, "b"),
    TABLE(LocalResponseNormalizationOptions, "ifff"),
    TABLE(LSTMOptions, "bffbo"),         /* act cell_clip proj_clip kernel_type asym */
    TABLE(ResizeBilinearOptions, "iioo"), /* new_height new_width (deprecated) align half */
    TABLE(CallOptions, "g"),
    TABLE(ReshapeOptions, "4"),
    TABLE(SkipGramOptions, "iio"),
    TABLE(SpaceToDepthOptions, "i"),
    TABLE(EmbeddingLookupSparseOptions, "b"),
    TABLE(MulOptions, "b"),
    TABLE(PadOptions, ""),
    TABLE(GatherOptions, "ii"),
    TABLE(BatchToSpaceNDOptions, ""),
    TABLE(SpaceToBatchNDOptions, ""),
    TABLE(TransposeOptions, ""),
    TABLE(ReducerOptions, "o"),
    TABLE(SubOptions, "bo"),
    TABLE(DivOptions, "b"),
    TABLE(SqueezeOptions, "4"),
    TABLE(SequenceRNNOptions, "obo"),
    TABLE(StridedSliceOptions, "iiiiio"),
    TABLE(ExpOptions, ""),
    TABLE(TopKV2Options, ""),
    TABLE(SplitOptions, "i"),
    TABLE(LogSoftmaxOptions, ""),
    TABLE(CastOptions, "bb"),
    TABLE(DequantizeOptions, ""),
    TABLE(MaximumMinimumOptions, ""),
    TABLE(ArgMaxOptions, "b"),
    TABLE(LessOptions, ""),
    TABLE(NegOptions, ""),
    TABLE(PadV2Options, ""),
    TABLE(GreaterOptions, ""),
    TABLE(GreaterEqualOptions, ""),
    TABLE(LessEqualOptions, ""),
    TABLE(SelectOptions, ""),
    TABLE(SliceOptions, ""),
    TABLE(TransposeConvOptions, "biibb"), /* padding sw sh act bias_type */
    TABLE(SparseToDenseOptions, "o"),
    TABLE(TileOptions, ""),
    TABLE(ExpandDimsOptions, ""),
    TABLE(EqualOptions, ""),
    TABLE(NotEqualOptions, ""),
    TABLE(ShapeOptions, "b"),
    TABLE(PowOptions, ""),
    TABLE(ArgMinOptions, "b"),
    TABLE(FakeQuantOptions, "ffio"),
    TABLE(PackOptions, "ii"),
    TABLE(LogicalOrOptions, ""),
    TABLE(OneHotOptions, "i"),
    TABLE(LogicalAndOptions, ""),
    TABLE(LogicalNotOptions, ""),
    TABLE(UnpackOptions, "ii"),
    TABLE(FloorDivOptions, ""),
    TABLE(SquareOptions, ""),
    TABLE(ZerosLikeOptions, ""),
    TABLE(FillOptions, ""),
    TABLE(BidirectionalSequenceLSTMOptions, "bffooo"), /* act clips merge time_major asym */
    TABLE(BidirectionalSequenceRNNOptions, "oboo"),
    TABLE(UnidirectionalSequenceLSTMOptions, "bffooo"), /* act clips time_major asym diag */
    TABLE(FloorModOptions, ""),
    TABLE(RangeOptions, ""),
    TABLE(ResizeNearestNeighborOptions, "oo"),
    TABLE(LeakyReluOptions, "f"),
    TABLE(SquaredDifferenceOptions, ""),
    TABLE(MirrorPadOptions, "b"),
    TABLE(AbsOptions, ""),
    TABLE(SplitVOptions, "i"),
    TABLE(UniqueOptions, "b"),
    TABLE(ReverseV2Options, ""),
    TABLE(AddNOptions, ""),
    TABLE(GatherNdOptions, ""),
    TABLE(CosOptions, ""),
    TABLE(WhereOptions, ""),
    TABLE(RankOptions, ""),
    TABLE(ReverseSequenceOptions, "ii"),
    TABLE(MatrixDiagOptions, ""),
    TABLE(QuantizeOptions, ""),
    TABLE(MatrixSetDiagOptions, ""),
    TABLE(HardSwishOptions, ""),
    TABLE(IfOptions, "gg"),
    TABLE(WhileOptions, "gg"),
    TABLE(DepthToSpaceOptions, "i"),
    TABLE(NonMaxSuppressionV4Options, ""),
    TABLE(NonMaxSuppressionV5Options, ""),
    TABLE(ScatterNdOptions, ""),
    TABLE(SelectV2Options, ""),
    TABLE(DensifyOptions, ""),
    TABLE(SegmentSumOptions, ""),
    TABLE(BatchMatMulOptions, "ooo"),
    TABLE(CumsumOptions, "oo"),
    TABLE(CallOnceOptions, "g"),
    TABLE(BroadcastToOptions, ""),
    TABLE(Rfft2dOptions, ""),
    TABLE(Conv3DOptions, "biiibiii"),    /* padding sd sw sh act dil_d dil_w dil_h */
    TABLE(HashtableOptions, "ibb"),
    TABLE(HashtableFindOptions, ""),
    TABLE(HashtableImportOptions, ""),
    TABLE(HashtableSizeOptions, ""),
    TABLE(VarHandleOptions, "ss"),
    TABLE(ReadVariableOptions, ""),
    TABLE(AssignVariableOptions, ""),
    TABLE(RandomOptions, "ll"),
    TABLE(BucketizeOptions, "4"),
    TABLE(GeluOptions, "o"),
    TABLE(DynamicUpdateSliceOptions, ""),
    TABLE(UnsortedSegmentProdOptions, ""),
    TABLE(UnsortedSegmentMaxOptions, ""),
    TABLE(UnsortedSegmentMinOptions, ""),
    TABLE(UnsortedSegmentSumOptions, ""),
    TABLE(ATan2Options, ""),
    TABLE(SignOptions, ""),
    TABLE(BitcastOptions, ""),
    TABLE(BitwiseXorOptions, ""),
    TABLE(RightShiftOptions, ""),
};

/* --- BuiltinOptions2 -------------------------------------------------------------------- */
static const fb_table_desc builtin_options2[] = {
    TABLE(StablehloConcatenateOptions, "l"),
    TABLE(StablehloBroadcastInDimOptions, "8"),
    TABLE(StablehloSliceOptions, "888"),
    /* window_strides padding lhs_dil rhs_dil window_reversal in_batch in_feature in_spatial
     * k_in_feature k_out_feature k_spatial out_batch out_feature out_spatial feature_groups
     * batch_groups precision_config */
    TABLE(StablehloConvolutionOptions, "88881ll8ll8ll8ll4"),
    TABLE(StablehloCustomCallOptions, "sosiG1"),
    TABLE(StablehloReduceOptions, "8g"),
    TABLE(StablehloScatterOptions, "o888log"),
    TABLE(StablehloCompareOptions, "II"),
    TABLE(StablehloDynamicSliceOptions, "8"),
    TABLE(StablehloPadOptions, "888"),
    TABLE(StablehloIotaOptions, "l"),
    TABLE(StablehloDotGeneralOptions, "88884"),
    TABLE(StablehloReduceWindowOptions, "88888g"),
    TABLE(StablehloSortOptions, "log"),
    TABLE(StablehloWhileOptions, "gg"),
    TABLE(StablehloGatherOptions, "888l8o"),
    TABLE(StablehloTransposeOptions, "8"),
    TABLE(DilateOptions, ""),
    TABLE(StablehloRngBitGeneratorOptions, "b"),
    TABLE(ReduceWindowOptions, "i"),
    TABLE(StableHLOCompositeOptions, "sg1bi"), /* name decomposition attributes format version */
    TABLE(StablehloShiftLeftOptions, ""),
    TABLE(StablehloCaseOptions, "G"),
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* 126 and 23 members in schema.fbs; a missing or extra line above would shift every type. */
_Static_assert(COUNT(builtin_options) == 126, "BuiltinOptions has 126 members");
_Static_assert(COUNT(builtin_options2) == 23, "BuiltinOptions2 has 23 members");

static const fb_union_desc builtin_options_union = {"BuiltinOptions", COUNT(builtin_options),
                                                    builtin_options};
static const fb_union_desc builtin_options2_union = {"BuiltinOptions2", COUNT(builtin_options2),
                                                     builtin_options2};

/* --- quantization and sparsity ---------------------------------------------------------- */
static const fb_table_desc quant_details[] = {
    TABLE(CustomQuantization, "1"),
    TABLE(BlockwiseQuantization, "iii"),    /* scales zero_points block_size */
    TABLE(MultiAxisQuantization, "iii4"),   /* scales zero_points block_size dims */
};
static const fb_union_desc quant_details_union = {"QuantizationDetails", COUNT(quant_details),
                                                  quant_details};
static const fb_union_desc *const quantization_unions[] = {&quant_details_union};
/* min max scale zero_point details_type details quantized_dimension */
static const fb_table_desc quantization_desc = {"QuantizationParameters", "4448uUi", NULL,
                                                quantization_unions};

static const fb_table_desc sparse_index_vectors[] = {
    TABLE(Int32Vector, "4"),
    TABLE(Uint16Vector, "2"),
    TABLE(Uint8Vector, "1"),
};
static const fb_union_desc sparse_index_union = {"SparseIndexVector",
                                                 COUNT(sparse_index_vectors),
                                                 sparse_index_vectors};
static const fb_union_desc *const dim_metadata_unions[] = {&sparse_index_union,
                                                           &sparse_index_union};
/* format dense_size segments_type segments indices_type indices */
static const fb_table_desc dim_metadata_desc = {"DimensionMetadata", "biuUuU", NULL,
                                                dim_metadata_unions};
static const fb_table_desc *const sparsity_tables[] = {&dim_metadata_desc};
/* traversal_order block_map dim_metadata */
static const fb_table_desc sparsity_desc = {"SparsityParameters", "44T", sparsity_tables, NULL};

/* --- tensors, operators, subgraphs ------------------------------------------------------ */
static const fb_table_desc variant_subtype_desc = TABLE(VariantSubType, "4bo");

static const fb_table_desc *const tensor_tables[] = {&quantization_desc, &sparsity_desc,
                                                     &variant_subtype_desc};
/* shape type buffer name quantization is_variable sparsity shape_signature has_rank
 * variant_tensors external_buffer */
static const fb_table_desc tensor_desc = {"Tensor", "4bIstot4oTI", tensor_tables, NULL};

static const fb_union_desc *const operator_unions[] = {&builtin_options_union,
                                                       &builtin_options2_union};
/* opcode_index inputs outputs options_type options custom_options custom_options_format
 * mutating_variable_inputs intermediates large_custom_options_offset/size options2_type
 * options2 debug_metadata_index */
static const fb_table_desc operator_desc = {"Operator", "I44uU1b14LLuUi", NULL,
                                            operator_unions};

static const fb_table_desc *const subgraph_tables[] = {&tensor_desc, &operator_desc};
/* tensors inputs outputs operators name debug_metadata_index */
static const fb_table_desc subgraph_desc = {"SubGraph", "T44Tsi", subgraph_tables, NULL};

/* deprecated_builtin_code custom_code version builtin_code */
static const fb_table_desc operator_code_desc = TABLE(OperatorCode, "bsii");
static const fb_table_desc buffer_desc = TABLE(Buffer, "1LL");   /* data offset size */
static const fb_table_desc metadata_desc = TABLE(Metadata, "sI"); /* name buffer */
static const fb_table_desc tensor_map_desc = TABLE(TensorMap, "sI"); /* name tensor_index */
static const fb_table_desc *const signature_tables[] = {&tensor_map_desc, &tensor_map_desc};
/* inputs outputs signature_key deprecated_tag subgraph_index */
static const fb_table_desc signature_desc = {"SignatureDef", "TTssI", signature_tables, NULL};
static const fb_table_desc external_group_desc = TABLE(ExternalBufferGroup, "s");
/* id group offset length packing */
static const fb_table_desc external_buffer_desc = TABLE(ExternalBuffer, "IILLs");

static const fb_table_desc *const model_tables[] = {
    &operator_code_desc, &subgraph_desc,       &buffer_desc,         &metadata_desc,
    &signature_desc,     &external_group_desc, &external_buffer_desc};
/* version operator_codes subgraphs description buffers metadata_buffer metadata
 * signature_defs external_buffer_groups external_buffers */
const fb_table_desc tflite_model_desc = {"Model", "ITTsT4TTTT", model_tables, NULL};

const fb_table_desc *tflite_options_desc(int set, unsigned type) {
  if (set != 1 && set != 2) return NULL;
  const fb_union_desc *u = set == 2 ? &builtin_options2_union : &builtin_options_union;
  if (type == 0 || type > (unsigned)u->count) return NULL;
  return &u->members[type - 1];
}

int tflite_options_count(int set) {
  return set == 2 ? builtin_options2_union.count : builtin_options_union.count;
}
